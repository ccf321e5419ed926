package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"cellar/engine"
	"cellar/internal/boltfile"
)

// image is what a page walk could read of a cellar file, without bbolt: check and
// salvage both work from it, so they agree on what is readable.
type image struct {
	path     string
	meta     map[string][]byte
	exps     map[uint64]*expImage
	expSeq   uint64
	latency  map[string][]byte
	problems []boltfile.Problem
}

type expImage struct {
	id     uint64
	fields map[string][]byte // config, name, created, checkpoint
	// stored are the ids of the trial records found, readable those that decode
	// under their own id; undecodable says why the others do not.
	stored, readable map[uint64]bool
	undecodable      map[uint64]string
	// trials holds the readable records themselves, when the image is read for
	// salvage (check needs only the verdicts: a 1M-trial file is 1 GB).
	trials map[uint64][]byte
	// archs are the readable trials' ids by arch, to check each arch once against
	// the experiment's space.
	archs      map[string][]uint64
	journal    map[uint64][]byte
	journalSeq uint64
	// damaged says a damaged page lay inside this experiment's buckets.
	damaged bool
}

func newExpImage(id uint64) *expImage {
	return &expImage{id: id, fields: map[string][]byte{}, stored: map[uint64]bool{}, readable: map[uint64]bool{},
		undecodable: map[uint64]string{}, trials: map[uint64][]byte{}, archs: map[string][]uint64{}, journal: map[uint64][]byte{}}
}

// decodeTrial says why a trial record stored under id is not readable ("" if it is),
// as the engine would read it: it decodes, under its own id, in a state there is,
// from a named origin, and a done trial has its metrics. arch is the record's arch,
// for check to parse in the experiment's space.
func decodeTrial(id uint64, raw []byte) (problem, arch string) {
	var t engine.Trial
	if err := json.Unmarshal(raw, &t); err != nil {
		return fmt.Sprintf("does not decode: %v", err), ""
	}
	switch {
	case t.ID != id:
		return fmt.Sprintf("the record says id %d", t.ID), ""
	case !slices.Contains([]engine.State{engine.Queued, engine.Running, engine.Done, engine.Failed, engine.Cancelled}, t.State):
		return fmt.Sprintf("state %q is none there is", t.State), ""
	case t.Origin == "" || !plainText(t.Origin) || !plainText(t.Arch):
		return fmt.Sprintf("origin %q or arch %q is not plain text", t.Origin, t.Arch), ""
	case t.State == engine.Done && len(t.Metrics) == 0:
		return "done, with no metrics", ""
	}
	return "", t.Arch
}

// plainText says s is printable text: a byte flipped in a record that still decodes
// shows as U+FFFD (JSON's mark for invalid UTF-8) or a control character.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) })
}

// record takes the verdict on one trial record; keep keeps a readable one's bytes.
func (x *expImage) record(id uint64, raw []byte, problem, arch string, keep bool) {
	x.stored[id] = true
	if problem != "" {
		x.undecodable[id] = problem
		return
	}
	x.readable[id] = true
	x.archs[arch] = append(x.archs[arch], id)
	if keep {
		x.trials[id] = raw
	}
}

// checkArchs counts a trial whose arch parse refuses (the experiment's space's) as
// not readable, saying why; each arch is parsed once.
func (x *expImage) checkArchs(parse func(arch string) error) {
	for arch, ids := range x.archs {
		if err := parse(arch); err != nil {
			for _, id := range ids {
				delete(x.readable, id)
				delete(x.trials, id)
				x.undecodable[id] = fmt.Sprintf("arch %q: %v", arch, err)
			}
		}
	}
}

// readImage walks path's pages under a shared lock (a search that holds the file
// makes it fail as in use) and sorts what it reads into cellar's layout. Trial
// records are decoded as they are read, on every core; keep keeps the readable ones'
// bytes (salvage).
func readImage(path string, keep bool) (*image, error) {
	bf, unlock, err := openLocked(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	im := &image{path: path, meta: map[string][]byte{}, exps: map[uint64]*expImage{}, latency: map[string][]byte{}}
	d := newDecoders(keep)
	// The walk's callbacks run in this goroutine; the decoders write only the trial
	// maps (stored, readable, undecodable, trials), which the walk never touches.
	im.problems = bf.Walk(boltfile.Visitor{Bucket: im.bucket, Value: func(path [][]byte, k, v []byte) { im.value(path, k, v, d) }})
	d.wait()
	for _, p := range im.problems {
		if x := im.exp(p.Bucket); x != nil {
			x.damaged = true
		}
	}
	return im, nil
}

// openLocked opens path for a page walk under a shared lock; unlock closes both.
func openLocked(path string) (*boltfile.File, func(), error) {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, nil, err
	case st.IsDir():
		return nil, nil, fmt.Errorf("%s: a directory, not a cellar database", path)
	case !st.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s: %s", path, notRegular(st))
	case st.Size() == 0:
		return nil, nil, fmt.Errorf("%s: the file is empty (0 bytes), not a cellar database", path)
	}
	lock, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if err := sharedLock(lock); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("%s: %w%s; stop it first", path, ErrInUse, holder(path))
	}
	bf, err := boltfile.Open(path)
	if err != nil {
		lock.Close()
		if errors.Is(err, boltfile.ErrNotBolt) {
			return nil, nil, fmt.Errorf("%s: not a cellar database (not a bbolt file)", path)
		}
		return nil, nil, fmt.Errorf("%s: %w: %v", path, ErrDamaged, err)
	}
	return bf, func() { bf.Close(); lock.Close() }, nil
}

// exp is the experiment a bucket path lies in (made when first met), or nil.
func (im *image) exp(path [][]byte) *expImage {
	if len(path) < 2 || !bytes.Equal(path[0], bucketExperiments) || len(path[1]) != 8 {
		return nil
	}
	id := binary.BigEndian.Uint64(path[1])
	x := im.exps[id]
	if x == nil {
		x = newExpImage(id)
		im.exps[id] = x
	}
	return x
}

// bucket takes a bucket the walk found, with its sequence.
func (im *image) bucket(path [][]byte, seq uint64) {
	switch {
	case len(path) == 1 && bytes.Equal(path[0], bucketExperiments):
		im.expSeq = seq
	case len(path) == 2:
		im.exp(path)
	case len(path) == 3 && bytes.Equal(path[2], bucketJournal):
		if x := im.exp(path); x != nil {
			x.journalSeq = seq
		}
	}
}

// value takes a key and value the walk read; trial records go to the decoders.
func (im *image) value(path [][]byte, k, v []byte, d *decoders) {
	switch {
	case len(path) == 1 && bytes.Equal(path[0], bucketMeta):
		im.meta[string(k)] = bytes.Clone(v)
	case len(path) == 1 && bytes.Equal(path[0], bucketLatency):
		im.latency[string(k)] = bytes.Clone(v)
	case len(path) == 2:
		if x := im.exp(path); x != nil {
			x.fields[string(k)] = bytes.Clone(v)
		}
	case len(path) == 3 && len(k) == 8:
		x := im.exp(path)
		if x != nil && bytes.Equal(path[2], bucketTrials) {
			d.jobs <- decodeJob{x, binary.BigEndian.Uint64(k), bytes.Clone(v)}
		} else if x != nil && bytes.Equal(path[2], bucketJournal) {
			x.journal[binary.BigEndian.Uint64(k)] = bytes.Clone(v)
		}
	}
}

// decoders decode trial records on every core while the walk goes on.
type decoders struct {
	jobs chan decodeJob
	mu   sync.Mutex // guards the experiments' trial maps
	wg   sync.WaitGroup
}

type decodeJob struct {
	x   *expImage
	id  uint64
	raw []byte
}

func newDecoders(keep bool) *decoders {
	d := &decoders{jobs: make(chan decodeJob, 1024)}
	for range runtime.GOMAXPROCS(0) {
		d.wg.Go(func() {
			for j := range d.jobs {
				problem, arch := decodeTrial(j.id, j.raw)
				d.mu.Lock()
				j.x.record(j.id, j.raw, problem, arch, keep)
				d.mu.Unlock()
			}
		})
	}
	return d
}

// wait ends the decoding once every record is in.
func (d *decoders) wait() {
	close(d.jobs)
	d.wg.Wait()
}

// Report is what check found, experiment by experiment.
type Report struct {
	Path string `json:"path"`
	// Pages are the damaged pages and broken links of the file itself.
	Pages []string `json:"pages,omitempty"`
	// Problems are cellar's own: schema, missing or undecodable records.
	Problems    []string           `json:"problems,omitempty"`
	Experiments []ExperimentReport `json:"experiments"`
}

// ExperimentReport is one experiment's part of a Report.
type ExperimentReport struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	// Readable trials decode and sit under their own id: salvage copies them.
	Readable int `json:"readable"`
	// Lost are the trials the checkpoint says were finished that cannot be read:
	// missing, or stored but undecodable.
	Lost     []uint64 `json:"lost,omitempty"`
	Problems []string `json:"problems,omitempty"`
	// Resumable says salvage keeps the checkpoint (it decodes).
	Resumable bool `json:"resumable"`
	// Finished says the checkpoint is a finished search's: resuming it does nothing
	// unless its budget is raised.
	Finished bool `json:"finished"`
}

// OK says the file has no problem at all.
func (r *Report) OK() bool {
	if len(r.Pages) > 0 || len(r.Problems) > 0 {
		return false
	}
	for _, x := range r.Experiments {
		if len(x.Problems) > 0 || len(x.Lost) > 0 {
			return false
		}
	}
	return true
}

// Check reads path page by page without bbolt and checks it as cellar reads it:
// bbolt's own invariants (pages, links, key order, the freelist) and cellar's (the
// schema, every record decodes, trials sit under their ids, the checkpoint's trials
// are all stored, the journal's entries run 1..N). It never writes to the file.
func Check(path string) (*Report, error) {
	im, err := readImage(path, false)
	if err != nil {
		return nil, err
	}
	return im.report(), nil
}

// report checks what the image holds.
func (im *image) report() *Report {
	r := &Report{Path: im.path}
	for _, p := range im.problems {
		r.Pages = append(r.Pages, p.String())
	}
	if app := im.meta[string(keyApp)]; !bytes.Equal(app, appName) {
		r.Problems = append(r.Problems, fmt.Sprintf("meta: app %q, not %q (not cellar's file, or its meta bucket is lost)", app, appName))
	}
	if v, err := strconv.Atoi(string(im.meta[string(keySchema)])); err != nil || v < oldestSchema || v > SchemaVersion {
		r.Problems = append(r.Problems, fmt.Sprintf("meta: schema version %q; this cellar reads %d to %d", im.meta[string(keySchema)], oldestSchema, SchemaVersion))
	}
	for k, raw := range im.latency {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("latency table %q: does not decode", k))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(im.exps)) {
		r.Experiments = append(r.Experiments, im.exps[id].check(im.expSeq))
	}
	return r
}

// check checks one experiment; the trials it counts readable are those salvage keeps.
func (x *expImage) check(expSeq uint64) ExperimentReport {
	r := ExperimentReport{ID: x.id, Name: string(x.fields[string(keyName)])}
	bad := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	if x.damaged {
		bad("damaged pages inside this experiment (see the page list)")
	}
	if x.id > expSeq {
		bad("id %d above the experiments' sequence %d", x.id, expSeq)
	}
	if src, ok := x.fields[string(keyConfig)]; !ok {
		bad("config: missing")
	} else if cfg, err := engine.ParseConfig(src); err != nil && len(src) > 0 {
		bad("config: does not parse: %v", err)
	} else if err == nil {
		if space, err := engine.ExperimentSpace(cfg); err == nil {
			x.checkArchs(func(arch string) error { _, err := space.Parse([]byte(arch)); return err })
		}
	}
	if _, ok := x.fields[string(keyName)]; !ok {
		bad("name: missing")
	}
	r.Readable = len(x.readable) // after the archs' check
	for _, id := range slices.Sorted(maps.Keys(x.undecodable)) {
		bad("trial %d: %s", id, x.undecodable[id])
	}
	r.Lost, r.Resumable, r.Finished = x.lost(bad)
	if n := len(r.Lost); n > 0 {
		bad("%d finished trials lost (%s)", n, idRanges(r.Lost))
	}
	x.checkJournal(bad)
	return r
}

// lost lists the finished trials that cannot be read: with a checkpoint, those below
// its next id and not pending; without one, those below the highest readable id.
// resumable says the checkpoint decodes.
func (x *expImage) lost(bad func(string, ...any)) (lost []uint64, resumable, finished bool) {
	cp, err := x.checkpoint()
	top := maxKey(x.readable) + 1
	pending := map[uint64]bool{}
	switch {
	case err != nil:
		bad("checkpoint: %v", err)
	case cp == nil && len(x.stored) > 0:
		bad("checkpoint: missing, but %d trials are stored", len(x.stored))
	case cp != nil:
		resumable, finished, top = true, cp.Finished, cp.NextID
		for _, p := range cp.Pending {
			pending[p.ID] = true
		}
		for _, id := range slices.Sorted(maps.Keys(x.stored)) {
			if id >= cp.NextID {
				bad("trial %d stored, but the checkpoint's next id is %d", id, cp.NextID)
			}
		}
	}
	for id := uint64(1); id < top; id++ {
		if !x.readable[id] && !pending[id] {
			lost = append(lost, id)
		}
	}
	return lost, resumable, finished
}

// checkJournal checks every journal record decodes and none is missing.
func (x *expImage) checkJournal(bad func(string, ...any)) {
	for _, seq := range slices.Sorted(maps.Keys(x.journal)) {
		if _, err := journalEntries(x.journal[seq]); err != nil {
			bad("journal record %d: does not decode: %v", seq, err)
		}
	}
	if n := uint64(len(x.journal)); n != x.journalSeq {
		bad("journal: %d records readable, its sequence says %d", n, x.journalSeq)
	}
}

func (x *expImage) checkpoint() (*engine.Checkpoint, error) {
	raw, ok := x.fields[string(keyCheckpoint)]
	if !ok {
		return nil, nil
	}
	cp := &engine.Checkpoint{}
	if err := json.Unmarshal(raw, cp); err != nil {
		return nil, fmt.Errorf("does not decode: %v", err)
	}
	return cp, nil
}

func maxKey[V any](m map[uint64]V) uint64 {
	var top uint64
	for k := range m {
		top = max(top, k)
	}
	return top
}

// idRanges writes sorted ids as "3, 7-9, 12".
func idRanges(ids []uint64) string {
	var b bytes.Buffer
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", ids[i], ids[j])
		} else {
			fmt.Fprintf(&b, "%d", ids[i])
		}
		i = j + 1
	}
	return b.String()
}
