package evaluators

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cellar/engine"
	"cellar/export"
	"cellar/spaces"
)

// CommandOptions configure the command evaluator: a program of the user's that
// trains one architecture and reports on stdout (docs/command.md).
type CommandOptions struct {
	Run     []string          `yaml:"run"`     // the program and its arguments, e.g. [python3, train.py]
	Workdir string            `yaml:"workdir"` // where it runs (.: where cellar was started)
	Env     map[string]string `yaml:"env"`     // added to cellar's environment
	Timeout time.Duration     `yaml:"timeout"` // per trial (0: none)
	// Devices are GPU ids: each running trial gets one of its own as
	// CUDA_VISIBLE_DEVICES, and a trial waits while all are taken.
	Devices []string `yaml:"devices"`
	// Epochs is the training the command is asked for (CELLAR_EPOCHS; 0: its own).
	Epochs int `yaml:"epochs"`
	// Metrics are the metrics its final line gives, the first the one early
	// stopping judges its epoch reports by (val_accuracy).
	Metrics []string `yaml:"metrics"`
	// Grace is how long an ended command has between SIGTERM and SIGKILL (10s).
	Grace     time.Duration     `yaml:"grace"`
	EarlyStop *EarlyStopOptions `yaml:"early_stop"`
}

// DefaultCommand are the command evaluator's defaults, which a config's options are
// decoded onto.
var DefaultCommand = CommandOptions{Workdir: ".", Metrics: []string{"val_accuracy"}, Grace: 10 * time.Second}

// logLines is how many lines of a command's output a trial keeps; stderrLines how
// many of its stderr an error quotes.
const (
	logLines    = 200
	stderrLines = 20
)

// What one trial keeps of a program's output, however much it prints: a line is cut
// at maxLine (the rest, to its newline, dropped and the cut marked), the log holds at
// most maxLogBytes besides its logLines, and a curve longer than maxCurve points is
// thinned to every other point (its first and last kept). Memory per trial is
// bounded so, whatever the program prints.
const (
	maxLine     = 64 << 10
	maxLogBytes = 256 << 10
	maxCurve    = 4096
)

// cutMark ends a line cut at maxLine.
const cutMark = " …[cut: the line was longer than 64 KiB]"

// Command evaluates an architecture by running a program of the user's on it. Per
// trial it makes a directory (beside the DB) holding trial.json, the network as
// model.py (export.PyTorch) and arch.json (export.JSON), and runs the program with
// the same facts in CELLAR_* environment variables. The program prints JSON lines:
// {"epoch": 1, "metrics": {...}} as it trains and {"metrics": {...}} at the end;
// other lines are its log. A trial ended early (early stopping, a pause that
// cancels, a stop, a timeout) ends the program's whole process group: SIGTERM, then
// SIGKILL after Grace.
type Command struct {
	space   spaces.Space
	opt     CommandOptions
	workdir string
	argv    []string    // what runs: the program's full path, then its arguments
	devices chan string // free devices; nil without devices
	earlyStopping
}

// NewCommand checks the options: the program must be found, the workdir exist.
func NewCommand(space spaces.Space, opt CommandOptions) (*Command, error) {
	if len(opt.Run) == 0 || opt.Run[0] == "" {
		return nil, errors.New("command: give the program to run, e.g. run: [python3, train.py]")
	}
	if len(opt.Metrics) == 0 {
		return nil, errors.New("command: metrics: name the metrics its final line gives (e.g. [val_accuracy])")
	}
	if opt.Timeout < 0 || opt.Grace < 0 || opt.Epochs < 0 {
		return nil, fmt.Errorf("command: timeout %v, grace %v and epochs %d must not be negative", opt.Timeout, opt.Grace, opt.Epochs)
	}
	wd, err := filepath.Abs(opt.Workdir)
	if err != nil {
		return nil, fmt.Errorf("command: workdir: %w", err)
	}
	if st, err := os.Stat(wd); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("command: workdir %s is not a directory", opt.Workdir)
	}
	prog := opt.Run[0]
	if strings.ContainsRune(prog, filepath.Separator) && !filepath.IsAbs(prog) {
		prog = filepath.Join(wd, prog)
	}
	path, err := exec.LookPath(prog)
	if err != nil {
		return nil, fmt.Errorf("command: %s: not found or not executable (run: %v)", opt.Run[0], opt.Run)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	c := &Command{space: space, opt: opt, workdir: wd, argv: append([]string{path}, opt.Run[1:]...)}
	if len(opt.Devices) > 0 {
		c.devices = make(chan string, len(opt.Devices))
		for _, d := range opt.Devices {
			c.devices <- d
		}
	}
	if opt.EarlyStop != nil {
		if opt.Epochs < 2 {
			return nil, errors.New("command: early_stop needs epochs (at least 2): the training the rule's rungs are placed in")
		}
		c.metric = opt.Metrics[0]
		if c.stop, err = newStopper(*opt.EarlyStop, opt.Epochs); err != nil {
			return nil, fmt.Errorf("command: %w", err)
		}
	}
	return c, nil
}

func (c *Command) Metrics() []string { return c.opt.Metrics }

// Argv is what a trial runs: the program's full path, then its arguments as written
// (run in Workdir). A worker checks it against what its operator allowed.
func (c *Command) Argv() []string { return slices.Clone(c.argv) }

// Workdir is the directory the program runs in.
func (c *Command) Workdir() string { return c.workdir }

// trialFile is trial.json: what the program is asked to do.
type trialFile struct {
	Experiment uint64   `json:"experiment,omitempty"`
	Trial      uint64   `json:"trial"`
	Seed       uint64   `json:"seed"`
	Space      string   `json:"space"`
	Arch       string   `json:"arch"`
	Input      [3]int   `json:"input"`
	Classes    int      `json:"classes"`
	Epochs     int      `json:"epochs,omitempty"`
	Metrics    []string `json:"metrics"`
	Model      string   `json:"model"` // model.py, the network as a PyTorch module
}

func (c *Command) Evaluate(ctx context.Context, job engine.Job, progress func(engine.Progress)) (engine.Outcome, error) {
	net, err := c.space.Network(job.Arch)
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("build network: %w", err)
	}
	dir, cleanup, err := c.trialDir(job)
	if err != nil {
		return engine.Outcome{}, err
	}
	defer cleanup()
	if err := c.writeTrial(dir, job, net); err != nil {
		return engine.Outcome{}, err
	}
	env := c.environ(job, dir)
	if job.Device != "" { // the worker's slot has a device of its own
		env = append(env, "CUDA_VISIBLE_DEVICES="+job.Device)
	} else if c.devices != nil {
		select {
		case d := <-c.devices:
			defer func() { c.devices <- d }()
			env = append(env, "CUDA_VISIBLE_DEVICES="+d)
		case <-ctx.Done():
			return engine.Outcome{}, ctx.Err()
		}
	}
	run := &commandRun{c: c, job: job, progress: progress, start: time.Now()}
	if c.stop != nil && !job.Judged {
		run.judge = c.judge(job)
	}
	return run.exec(ctx, env)
}

// trialDir makes the trial's directory, fresh: under the experiment's directory when
// the search stores, else a temporary one removed afterwards.
func (c *Command) trialDir(job engine.Job) (string, func(), error) {
	if job.Dir == "" {
		d, err := os.MkdirTemp("", "cellar-trial-")
		return d, func() { os.RemoveAll(d) }, err
	}
	d := filepath.Join(job.Dir, fmt.Sprintf("trial-%d", job.Trial))
	if err := os.RemoveAll(d); err != nil { // a run interrupted before: start afresh
		return "", nil, err
	}
	return d, func() {}, os.MkdirAll(d, 0o755)
}

func (c *Command) writeTrial(dir string, job engine.Job, net *spaces.Net) error {
	meta := export.Meta{Space: c.space.Name(), Arch: job.Arch.String(), Experiment: job.Experiment, Trial: job.Trial}
	model, err := export.PyTorch(net, meta)
	if err != nil {
		return err
	}
	arch, err := export.JSON(net, meta)
	if err != nil {
		return err
	}
	in, out := net.Layers[0].Shape, net.Layers[net.Output].Shape
	tf, err := json.MarshalIndent(trialFile{Experiment: job.Experiment, Trial: job.Trial, Seed: job.Seed, Space: meta.Space, Arch: meta.Arch,
		Input: [3]int{in.C, in.H, in.W}, Classes: out.C, Epochs: c.opt.Epochs, Metrics: c.opt.Metrics, Model: "model.py"}, "", "  ")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"model.py": model, "arch.json": arch, "trial.json": tf} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// environ is cellar's environment, the options' env, and the trial's facts.
func (c *Command) environ(job engine.Job, dir string) []string {
	env := os.Environ()
	for k, v := range c.opt.Env {
		env = append(env, k+"="+v)
	}
	env = append(env,
		"CELLAR_TRIAL_ID="+strconv.FormatUint(job.Trial, 10),
		"CELLAR_EXPERIMENT="+strconv.FormatUint(job.Experiment, 10),
		"CELLAR_SEED="+strconv.FormatUint(job.Seed, 10),
		"CELLAR_TRIAL_DIR="+dir,
		"CELLAR_MODEL="+filepath.Join(dir, "model.py"),
		"CELLAR_ARCH="+job.Arch.String(),
		"CELLAR_SPACE="+c.space.Name(),
		"CELLAR_METRICS="+strings.Join(c.opt.Metrics, ","),
	)
	if c.opt.Epochs > 0 {
		env = append(env, "CELLAR_EPOCHS="+strconv.Itoa(c.opt.Epochs))
	}
	return env
}

// commandRun is one run of the program: what it has reported so far.
type commandRun struct {
	c        *Command
	job      engine.Job
	progress func(engine.Progress)
	judge    func(epochs int, val float64) (bool, *engine.Stop)
	start    time.Time

	mu       sync.Mutex
	partial  []byte // stdout after the last newline
	skipping bool   // dropping the rest of a line cut at maxLine
	log      []string
	logBytes int
	curve    []engine.CurvePoint
	final    map[string]float64
	bad      error         // a report that cannot be taken (NaN, not a number)
	stop     *engine.Stop  // set when early stopping ended the run
	ended    chan struct{} // closed when early stopping ends the run
	exited   chan struct{} // closed once the program has been waited for
	endOnce  sync.Once
}

func (r *commandRun) exec(ctx context.Context, env []string) (engine.Outcome, error) {
	if r.c.opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.opt.Timeout)
		defer cancel()
	}
	r.ended, r.exited = make(chan struct{}), make(chan struct{})
	cmd := exec.Command(r.c.opt.Run[0], r.c.opt.Run[1:]...)
	if strings.ContainsRune(cmd.Path, filepath.Separator) && !filepath.IsAbs(cmd.Path) {
		cmd.Path = filepath.Join(r.c.workdir, cmd.Path)
	}
	cmd.Dir, cmd.Env = r.c.workdir, env
	cmd.SysProcAttr = groupAttr()
	var stderr tailWriter
	cmd.Stdout, cmd.Stderr = writerFunc(r.write), &stderr
	// Wait returns though something the program started still holds its output.
	cmd.WaitDelay = r.c.opt.Grace + time.Second
	if err := cmd.Start(); err != nil {
		return engine.Outcome{}, fmt.Errorf("command %v: %w", r.c.opt.Run, err)
	}
	var err error
	go func() {
		err = cmd.Wait()
		close(r.exited)
	}()
	select {
	case <-r.exited:
	case <-ctx.Done():
		r.end(cmd.Process)
	case <-r.ended: // early stopping
		r.end(cmd.Process)
	}
	<-r.exited
	r.mu.Lock()
	defer r.mu.Unlock()
	r.line(r.partial) // a last line without its newline
	out := engine.Outcome{Curve: r.curve, Log: r.log}
	switch {
	case r.stop != nil:
		out.Stop = r.stop
		out.Metrics = map[string]float64{}
		if n := len(r.curve); n > 0 {
			out.Metrics = r.curve[n-1].Metrics
		}
		return out, nil
	case ctx.Err() == context.DeadlineExceeded:
		return out, fmt.Errorf("command timed out after %v%s", r.c.opt.Timeout, stderr.quote())
	case ctx.Err() != nil:
		return out, ctx.Err() // paused or stopped: the trial runs again later
	case err != nil:
		return out, fmt.Errorf("command %s%s", exitReason(err), stderr.quote())
	case r.bad != nil:
		return out, fmt.Errorf("%w%s", r.bad, stderr.quote())
	case r.final == nil:
		return out, fmt.Errorf(`command printed no final metrics line ({"metrics": {...}})%s`, stderr.quote())
	}
	for _, m := range r.c.opt.Metrics {
		if _, ok := r.final[m]; !ok {
			return out, fmt.Errorf("command gave no %s (it gave: %s)", m, strings.Join(sortedKeys(r.final), ", "))
		}
	}
	out.Metrics = r.final
	var curve []float64
	for _, p := range r.curve {
		if v, ok := p.Metrics[r.c.metric]; ok {
			curve = append(curve, v)
		}
	}
	if r.judge != nil {
		r.c.finished(r.job, curve)
	}
	return out, nil
}

// end ends the program's process group: SIGTERM, then SIGKILL after the grace period.
func (r *commandRun) end(p *os.Process) {
	r.endOnce.Do(func() {
		signalGroup(p, syscall.SIGTERM)
		go func() {
			select {
			case <-time.After(r.c.opt.Grace):
				// What it started may outlive it: the group is killed even when the
				// program itself has gone.
				signalGroup(p, syscall.SIGKILL)
			case <-r.exited:
				signalGroup(p, syscall.SIGKILL) // the rest of its group, if any
			}
		}()
	})
}

// write takes the program's stdout, line by line, in memory bounded by maxLine.
func (r *commandRun) write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if r.skipping { // the rest of a cut line, to its newline
			if i < 0 {
				return n, nil
			}
			r.skipping, b = false, b[i+1:]
			continue
		}
		if i < 0 {
			r.partial = append(r.partial, b...)
			if len(r.partial) > maxLine {
				r.cut()
			}
			return n, nil
		}
		r.partial = append(r.partial, b[:i]...)
		b = b[i+1:]
		if len(r.partial) > maxLine {
			r.cut()
			r.skipping = false // its newline came in this write
			continue
		}
		r.line(r.partial)
		r.partial = r.partial[:0]
	}
	return n, nil
}

// cut takes the first maxLine bytes of an over-long line into the log, marked, and
// drops the rest of it: no report is that long.
func (r *commandRun) cut() {
	head := bytes.ToValidUTF8(r.partial[:maxLine], nil)
	r.keep(string(head) + cutMark)
	r.partial, r.skipping = r.partial[:0], true
}

// report is a protocol line.
type report struct {
	Epoch   *float64                   `json:"epoch"`
	Step    int                        `json:"step"`
	Metrics map[string]json.RawMessage `json:"metrics"`
}

// line takes one line of stdout: a report, or a line of the log.
func (r *commandRun) line(b []byte) {
	b = bytes.TrimRight(b, "\r")
	if len(b) == 0 {
		return
	}
	var rep report
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || json.Unmarshal(b, &rep) != nil || rep.Metrics == nil {
		// Python's json.dumps writes NaN and Infinity bare, which is not JSON: a
		// report of one is a failed training, not a line of the log.
		if r.bad == nil && bytes.Contains(b, []byte(`"metrics"`)) && (bytes.Contains(b, []byte("NaN")) || bytes.Contains(b, []byte("Infinity"))) {
			r.bad = fmt.Errorf("command reported a metric that is not a number: %.200s", b)
		}
		r.keep(string(b))
		return
	}
	m := map[string]float64{}
	for k, raw := range rep.Metrics {
		var v float64
		// null decodes to 0 without an error: a metric of null is no number either.
		if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || math.IsNaN(v) || math.IsInf(v, 0) {
			if r.bad == nil {
				r.bad = fmt.Errorf("command reported metric %s = %s, which is not a number", k, raw)
			}
			return
		}
		m[k] = v
	}
	if r.stop != nil {
		return // early stopping has ended the run: what it says while it ends is not taken
	}
	if rep.Epoch == nil {
		r.final = m
		return
	}
	p := engine.CurvePoint{Epoch: *rep.Epoch, Step: rep.Step, Metrics: m, Duration: time.Since(r.start).Seconds()}
	r.curve = append(r.curve, p)
	if len(r.curve) > maxCurve {
		r.curve = thin(r.curve)
	}
	if r.progress != nil {
		r.progress(engine.Progress{Epoch: p.Epoch, Step: p.Step, Metrics: m})
	}
	if v, ok := m[r.c.metric]; ok && r.judge != nil && r.stop == nil && *rep.Epoch == math.Trunc(*rep.Epoch) {
		if ok, st := r.judge(int(*rep.Epoch), v); !ok {
			r.stop = st
			close(r.ended)
		}
	}
}

// keep adds a line to the log, which holds the last logLines, and at most
// maxLogBytes of them.
func (r *commandRun) keep(s string) {
	r.log = append(r.log, s)
	r.logBytes += len(s)
	for len(r.log) > logLines || (r.logBytes > maxLogBytes && len(r.log) > 1) {
		r.logBytes -= len(r.log[0])
		r.log = r.log[1:]
	}
}

// thin keeps every other point of a curve, its first and last among them: a curve
// that grew past maxCurve keeps its shape at half the points.
func thin(curve []engine.CurvePoint) []engine.CurvePoint {
	out := make([]engine.CurvePoint, 0, len(curve)/2+2)
	for i := 0; i < len(curve)-1; i += 2 {
		out = append(out, curve[i])
	}
	return append(out, curve[len(curve)-1])
}

func exitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return "was killed by " + st.Signal().String()
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	return err.Error()
}

func sortedKeys(m map[string]float64) []string { return slices.Sorted(maps.Keys(m)) }

// writerFunc makes a function an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// tailWriter keeps the last stderrLines lines written to it.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

func (w *tailWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	if len(w.buf) > 64<<10 {
		w.buf = w.buf[len(w.buf)-32<<10:]
	}
	return len(b), nil
}

// quote is the last lines of stderr, for an error message ("" when it said nothing).
func (w *tailWriter) quote() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(w.buf), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	if len(lines) > stderrLines {
		lines = lines[len(lines)-stderrLines:]
	}
	return "; its stderr ends:\n" + strings.Join(lines, "\n")
}

// RelativeFiles are the files a command evaluator's run names by a path relative to
// where cellar runs (no workdir given) that exist here: a worker of a NATS queue runs
// the command in its own folder, where they may not be.
func RelativeFiles(c engine.Component) []string {
	if c.Name != "command" || c.Has("workdir") {
		return nil // a workdir given is made absolute with the experiment's paths
	}
	opt := DefaultCommand
	if err := c.Decode(&opt); err != nil {
		return nil
	}
	var out []string
	for _, arg := range opt.Run {
		if filepath.IsAbs(arg) {
			continue
		}
		if st, err := os.Stat(arg); err == nil && st.Mode().IsRegular() {
			out = append(out, arg)
		}
	}
	return out
}
