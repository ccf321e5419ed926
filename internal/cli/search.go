package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cellar/engine"
	"cellar/internal/num"
	"cellar/proxies"
	"cellar/storage"
	"cellar/themes"
	"cellar/tui"
)

type searchFlags struct {
	config     string
	db         string
	resume     uint64
	events     bool
	noProgress bool
	trials     int // overrides the budget's trials when positive
	// forkFrom and forkAt make a fork: a new experiment from experiment forkFrom as
	// it was after trial forkAt.
	forkFrom, forkAt uint64
	simulate         bool // run on a simulated clock (engine.SimTime)
	nats             natsFlags
	// evaluators are those an experiment may name.
	evaluators map[string]engine.EvaluatorFactory
	// stderr is where the command says what is not its output (how workers connect).
	stderr io.Writer
}

func newSearchCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	f := searchFlags{evaluators: evals}
	var resume string
	cmd := &cobra.Command{
		Use:   "search -c exp.yaml [--db F] [--resume ID]",
		Short: "Run an experiment headless, with a progress bar",
		Long: `Run an experiment without the TUI. Every finished trial is stored in the DB before the
strategy learns of it; interrupt with Ctrl-C and continue later with --resume ID.
` + partsHelp(evals),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.setResume(resume); err != nil {
				return err
			}
			if f.resume == 0 && f.config == "" {
				return errors.New("give the experiment with -c exp.yaml (or --resume ID to continue one)")
			}
			return runSearch(cmd, f)
		},
	}
	f.register(cmd, &resume)
	cmd.Flags().BoolVar(&f.events, "events", false, "print every finished trial as a JSON line on stdout")
	cmd.Flags().BoolVar(&f.noProgress, "no-progress", false, "no progress bar (it is off anyway when stderr is not a terminal)")
	cmd.Flags().BoolVar(&f.simulate, "simulate-time", false, "charge each trial its simulated training time (the table's train_seconds, or a FLOPs model): budget.time is simulated")
	return cmd
}

// setResume takes the --resume flag's value ("" for none).
// register adds the flags that say which search to run: -c, --db, --resume and
// --trials; --resume is parsed later by setResume.
func (f *searchFlags) register(cmd *cobra.Command, resume *string) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "experiment file (YAML or JSON)")
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(resume, "resume", "", "continue experiment `ID` of the DB where it stopped")
	cmd.Flags().IntVar(&f.trials, "trials", 0, "override the budget's number of trials")
	f.nats.register(cmd, "evaluate trials on workers through this NATS server (nats://HOST:PORT), or embedded[:HOST:PORT] to run one here")
	cmd.PreRun = func(cmd *cobra.Command, _ []string) { f.stderr = cmd.ErrOrStderr() }
}

// themeFlag adds --theme.
func themeFlag(cmd *cobra.Command, theme *string) {
	cmd.Flags().StringVar(theme, "theme", "dark", "colour theme: dark or light")
}

// parseUI parses --resume and --theme for the commands that show the TUI.
func (f *searchFlags) parseUI(resume, theme string) (themes.Theme, error) {
	if err := f.setResume(resume); err != nil {
		return themes.Theme{}, err
	}
	return themes.Lookup(theme)
}

func (f *searchFlags) setResume(resume string) error {
	if resume == "" {
		return nil
	}
	id, err := parseID("--resume", resume)
	f.resume = id
	return err
}

// session is a search ready to run: its DB, stored experiment, built parts and engine.
type session struct {
	db   *storage.DB
	x    *storage.Experiment
	exp  *engine.Experiment
	eng  *engine.Engine
	past *storage.SharedHistory
	// closers end what the session started besides the DB (a NATS connection, an
	// embedded server), last first.
	closers []func()
	// workers, when the trials run on NATS workers, are those heard of; nil otherwise.
	workers func() []tui.Worker
}

// close ends the session: what it started, then the DB.
func (s *session) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.db.Close()
}

// history gives a TUI that starts after the search did, or on a resumed one, the
// trials stored so far; every TUI of the search shares one copy.
func (s *session) history() ([]engine.Trial, uint64, error) { return s.past.Trials() }

// openSession sets up the search the flags describe: a new experiment from -c (or the
// built-in default), or --resume ID / a fork from the DB with its stored config. For a
// new experiment everything that can fail (the config, building the space, strategy
// and evaluator, loading data) is done before the file is created or changed: a
// command touches the DB only when it is about to run the search.
func openSession(f searchFlags) (*session, error) {
	if f.resume == 0 && f.forkFrom == 0 {
		return newSession(f)
	}
	db, err := storage.OpenMode(f.db, time.Second, storage.Existing) // never create a file to resume or fork from
	if err != nil {
		return nil, err
	}
	s, err := storedSession(db, f)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// newSession builds a new experiment from -c or the built-in default, then stores it.
func newSession(f searchFlags) (*session, error) {
	src, origin := defaultExperiment, "the built-in default experiment"
	if f.config != "" {
		var err error
		if src, err = readFile(f.config); err != nil {
			return nil, err
		}
		origin = f.config
	}
	src = engine.PinDefaults(src) // a new experiment: what it runs with is kept
	cfg, err := parseConfig(src, origin, f)
	if err != nil {
		return nil, err
	}
	if cfg.NeedsLatency() {
		// The table is read from the DB, which must exist (cellar latency build).
		db, err := storage.OpenReadOnly(f.db, time.Second)
		if err != nil {
			return nil, fmt.Errorf("%s: latency is estimated from this machine's latency table in the DB: %w", origin, err)
		}
		cfg.Latency, err = latencyTable(db, cfg)
		db.Close()
		if err != nil {
			return nil, err
		}
	}
	exp, err := engine.Build(cfg, src, f.evaluators)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	db, err := storage.Open(f.db, time.Second)
	if err != nil {
		return nil, err
	}
	x, err := db.CreateExperiment(cfg.Name, src)
	if err != nil {
		db.Discard()
		return nil, err
	}
	s, err := start(db, x, exp, engine.Options{}, f)
	if err != nil {
		db.Discard()
		return nil, err
	}
	return s, nil
}

// parseConfig parses an experiment's source and applies --trials.
func parseConfig(src []byte, origin string, f searchFlags) (*engine.Config, error) {
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	if f.trials > 0 {
		cfg.Budget.Trials = f.trials
	}
	return cfg, nil
}

// storedSession resumes experiment --resume of db, or forks a new one from a stored
// experiment; nothing is written until every stored record it needs has been read.
func storedSession(db *storage.DB, f searchFlags) (*session, error) {
	var (
		src    []byte
		x      *storage.Experiment
		opt    engine.Options
		origin string
		err    error
	)
	if f.resume > 0 {
		if x, err = db.Experiment(f.resume); err != nil {
			return nil, err
		}
		if src, err = x.Source(); err != nil {
			return nil, err
		}
		origin = fmt.Sprintf("experiment %d of %s", x.ID, f.db)
		if f.config != "" {
			given, err := readFile(f.config)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(given, src) && !bytes.Equal(engine.PinDefaults(given), src) {
				return nil, fmt.Errorf("%s differs from the config stored with experiment %d; a resume runs the stored one, so drop -c", f.config, x.ID)
			}
		}
		opt, err = x.ResumeOptions()
		if errors.Is(err, storage.ErrFinished) && f.trials > len(opt.Stored) {
			opt.Resume.Finished, err = false, nil // a budget raised with --trials goes on
		}
		if err != nil {
			return nil, err
		}
	} else if src, opt.Script, origin, err = forkScript(db, f); err != nil {
		return nil, err
	}
	cfg, err := parseConfig(src, origin, f)
	if err != nil {
		return nil, err
	}
	if cfg.Latency, err = latencyTable(db, cfg); err != nil {
		return nil, err
	}
	exp, err := engine.Build(cfg, src, f.evaluators)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	if x == nil {
		if x, err = db.CreateExperiment(origin, src); err != nil {
			return nil, err
		}
	}
	return start(db, x, exp, opt, f)
}

// start makes the engine for a stored experiment.
func start(db *storage.DB, x *storage.Experiment, exp *engine.Experiment, opt engine.Options, f searchFlags) (*session, error) {
	opt.Store, opt.Experiment, opt.Dir = x, x.ID, x.FilesDir()
	if f.simulate {
		opt.Simulate = &engine.DefaultSimTime
	}
	if cp := opt.Resume; cp != nil && cp.Elapsed > 0 {
		// A search keeps the clock it started on.
		simulated := len(cp.SimClocks) > 0
		if f.simulate && !simulated {
			return nil, fmt.Errorf("experiment %d ran on the wall clock; --simulate-time cannot switch it", x.ID)
		}
		if simulated {
			opt.Simulate = &engine.DefaultSimTime
		}
	}
	s := &session{db: db, x: x, exp: exp}
	if err := s.remoteExecution(f, &opt, f.stderr); err != nil {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
		return nil, err
	}
	// Data-free scores (a predictor's warm start and features, a zerocost rung) are
	// kept in the file: a search of any space pays for an arch's once.
	scores := db.ScoreCache()
	stop := proxies.UseStore(exp.Space, exp.Config.Space.Label(), scores)
	s.closers = append(s.closers, func() { stop(); scores.Flush() })
	s.eng = engine.New(exp, opt)
	s.past = storage.NewSharedHistory(x, s.eng)
	return s, nil
}

func runSearch(cmd *cobra.Command, f searchFlags) error {
	out := cmd.OutOrStdout()
	s, err := openSession(f)
	if errors.Is(err, storage.ErrFinished) {
		fmt.Fprintf(out, "%v; to go on, raise its budget (cellar search --db %s --resume %d --trials N, N above what it has), or fork it (cellar fork --db %s --exp %d --at TRIAL).\n",
			err, shellQuote(f.db), f.resume, shellQuote(f.db), f.resume)
		return nil
	}
	if err != nil {
		return err
	}
	defer s.close()
	ctx, got, stop := onSignal(cmd.Context())
	defer stop()
	var watchers []func()
	if f.events {
		watchers = append(watchers, printEvents(s.eng.Subscribe(), out))
	}
	watchers = append(watchers, printEpochs(s.eng.Subscribe(), cmd.ErrOrStderr()))
	if !f.noProgress && term.IsTerminal(int(os.Stderr.Fd())) {
		watchers = append(watchers, showProgress(s.eng, s.exp.Config.Budget.Trials, s.exp.Config.Objectives[0].Name))
	}
	runErr := s.eng.Run(ctx)
	for _, wait := range watchers {
		wait()
	}
	summary(out, s.eng.Snapshot(), s.exp, s.x.ID, f.db)
	if sig := got(); sig != nil && (runErr == nil || errors.Is(runErr, context.Canceled)) {
		fmt.Fprintf(out, "interrupted: finished trials are stored; continue with\n  cellar search --db %s --resume %d%s\n", shellQuote(f.db), s.x.ID, f.nats.flags())
		return stoppedBy(sig)
	}
	var failing *engine.ErrFailing
	if errors.As(runErr, &failing) { // the summary said why
		return exitCode{code: exitFailed, err: fmt.Errorf("the first %d trials all failed and none is done, so the search stopped; fix what fails, then go on with cellar search --db %s --resume %d%s",
			failing.Failed, shellQuote(f.db), s.x.ID, f.nats.flags())}
	}
	return runErr
}

// printEvents writes each final trial as a JSON line until the subscription closes;
// the returned function waits for that.
func printEvents(sub *engine.Subscription, w io.Writer) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc := json.NewEncoder(w)
		for ev := range sub.C {
			if ev.Kind == engine.TrialFinished && ev.Trial.Final() {
				enc.Encode(ev.Trial)
			}
		}
	}()
	return func() { <-done }
}

// printEpochs writes a line on w for each epoch a learner (DARTS, a supernet) ends,
// until the subscription closes; the returned function waits for that.
func printEpochs(sub *engine.Subscription, w io.Writer) func() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.C {
			if r := ev.Report; ev.Kind == engine.LearnerReport && r.Of > 0 {
				var vals []string
				for _, k := range slices.Sorted(maps.Keys(r.Values)) {
					vals = append(vals, k+" "+num.Human(r.Values[k]))
				}
				fmt.Fprintf(w, "%s epoch %d/%d: %s\n", r.Source, r.Step, r.Of, strings.Join(vals, ", "))
			}
		}
	}()
	return func() { <-done }
}

// showProgress draws a bar on stderr from the engine's status until the search ends.
func showProgress(eng *engine.Engine, trials int, objective string) func() {
	max := int64(trials)
	if max == 0 {
		max = -1 // a time budget only: a spinner
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false), // its estimate reads 0s after Set; see progressLine
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	sub := eng.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		update := func() {
			s := eng.Snapshot()
			bar.Describe(progressLine(s, objective, trials))
			bar.Set(s.Done + s.Failed)
		}
		for {
			select {
			case _, ok := <-sub.C:
				if !ok {
					update()
					bar.Finish()
					return
				}
			case <-tick.C:
				update()
			}
		}
	}()
	return func() { <-done }
}

// progressLine is the bar's description: the best trial so far and, for evaluators
// that report progress (training), where the running trials are.
func progressLine(s engine.Status, objective string, budget int) string {
	parts := []string{"searching"}
	if s.Best != nil {
		parts[0] = fmt.Sprintf("best %s %s (trial %d)", objective, num.Plain(s.Best.Metrics[objective]), s.Best.ID)
	}
	if s.Learning != "" {
		parts = append(parts, "training "+s.Learning)
	}
	if f := s.Budget.Final; f > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d at full fidelity", s.Full, f))
	}
	if done := s.Done + s.Failed; done > 0 && budget > done {
		eta := time.Duration(float64(s.Elapsed) / float64(done) * float64(budget-done))
		parts[0] += ", ETA " + eta.Round(time.Second).String()
	}
	ids := make([]uint64, 0, len(s.Progress))
	for id := range s.Progress {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p := s.Progress[id]
		line := fmt.Sprintf("#%d epoch %.2f", id, p.Epoch)
		if loss, ok := p.Metrics["loss"]; ok {
			line += fmt.Sprintf(" loss %.3f", loss)
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, " | ")
}

func summary(w io.Writer, s engine.Status, exp *engine.Experiment, id uint64, db string) {
	clock := ""
	if s.Simulated {
		clock = " (simulated)"
	}
	stopped := ""
	if s.Stopped > 0 {
		stopped = fmt.Sprintf(", %d of them stopped early", s.Stopped)
	}
	dupes := ""
	if s.Duplicates > 0 {
		dupes = fmt.Sprintf("; and %d duplicates of those, not evaluated (dedupe: %s)", s.Duplicates, exp.Config.Dedupe)
	}
	fmt.Fprintf(w, "experiment %d (%s): %s after %d trials (%d done%s, %d failed%s) in %s%s\n",
		id, exp.Config.Name, s.State, s.Done+s.Failed-s.Duplicates, s.Done-s.Duplicates, stopped, s.Failed, dupes, s.Elapsed.Round(time.Millisecond), clock)
	if s.Best != nil {
		fmt.Fprintf(w, "best: trial %d (%s) %s\n  %s\n", s.Best.ID, s.Best.Origin, formatMetrics(s.Best.Metrics), s.Best.Arch)
	}
	if s.Failure != nil {
		fmt.Fprintf(w, "commonest failure: %s\n", s.Failure)
	}
	fmt.Fprintf(w, "trials: cellar trials --db %s --exp %d\n", db, id)
}

func formatMetrics(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + num.Plain(m[k])
	}
	return strings.Join(parts, " ")
}
