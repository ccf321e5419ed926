package evaluators

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"cellar/engine"
	"cellar/pareto"
	"cellar/weights"
)

// KeepWeights says whose trained weights a training evaluator keeps: "best" (the best
// trial by the first objective), "front" (the Pareto front of the objectives, with
// two or more), "all", or "none". A config gives one name or a list.
type KeepWeights []string

// UnmarshalYAML takes a name or a list of names.
func (k *KeepWeights) UnmarshalYAML(n *yaml.Node) error {
	var names []string
	if n.Kind == yaml.ScalarNode {
		names = []string{n.Value}
	} else if err := n.Decode(&names); err != nil {
		return fmt.Errorf("line %d: keep_weights: best, front, all or none, or a list of them", n.Line)
	}
	for _, s := range names {
		if !slices.Contains([]string{"best", "front", "all", "none"}, s) {
			return fmt.Errorf("line %d: keep_weights: %q; give best, front, all or none", n.Line, s)
		}
	}
	*k = names
	return nil
}

// WeightsPath is where the trained weights of a trial are kept, in the directory an
// experiment keeps files in (engine.Job.Dir, storage's FilesDir).
func WeightsPath(dir string, trial uint64) string {
	return filepath.Join(dir, "weights", fmt.Sprintf("trial-%d.safetensors", trial))
}

// keeper keeps the trained weights of the trials that matter, as safetensors files
// beside the DB, and deletes those that stop mattering. Each file's metadata holds its
// trial's objective values, so the files are the whole record: a resumed search
// reads them back.
type keeper struct {
	best, front, all bool
	objs             []engine.Objective

	mu   sync.Mutex
	kept map[uint64][]float64 // trial -> objective values, oriented higher-better; nil until the files are read
}

func newKeeper(k KeepWeights, objs []engine.Objective) *keeper {
	return &keeper{best: slices.Contains(k, "best"), front: slices.Contains(k, "front") && len(objs) > 1, all: slices.Contains(k, "all"), objs: objs}
}

// wants says whether job's training should hand back its weights.
func (k *keeper) wants(job engine.Job) bool {
	return job.Dir != "" && job.Trial != 0 && (k.best || k.front || k.all)
}

// keep records a trial trained to the end, with its metrics and trained weights.
func (k *keeper) keep(job engine.Job, metrics map[string]float64, w weights.Set) error {
	if !k.wants(job) || w == nil {
		return nil
	}
	vals := make([]float64, len(k.objs))
	for i, o := range k.objs {
		v, ok := metrics[o.Name]
		if !ok {
			v, ok = job.Measured[o.Name]
		}
		if !ok && !k.all {
			return nil // it cannot rank
		}
		if !o.Maximise() {
			v = -v
		}
		vals[i] = v
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.load(job.Dir); err != nil {
		return err
	}
	k.kept[job.Trial] = vals
	matter := k.mattering()
	if !matter[job.Trial] {
		delete(k.kept, job.Trial)
		return nil
	}
	enc, _ := json.Marshal(vals)
	path := WeightsPath(job.Dir, job.Trial)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := weights.WriteFileMeta(path, w, map[string]string{"trial": strconv.FormatUint(job.Trial, 10), "objectives": string(enc)}); err != nil {
		return fmt.Errorf("keep weights: %w", err)
	}
	for id := range k.kept {
		if !matter[id] {
			delete(k.kept, id)
			if err := os.Remove(WeightsPath(job.Dir, id)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("keep weights: %w", err)
			}
		}
	}
	return nil
}

// load reads back the files a run before this one kept.
func (k *keeper) load(dir string) error {
	if k.kept != nil {
		return nil
	}
	k.kept = map[uint64][]float64{}
	files, _ := filepath.Glob(filepath.Join(dir, "weights", "trial-*.safetensors"))
	for _, f := range files {
		id, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "trial-"), ".safetensors"), 10, 64)
		if err != nil {
			continue
		}
		meta, err := weights.ReadMeta(f)
		if err != nil {
			return fmt.Errorf("keep weights: %w", err)
		}
		var vals []float64
		if json.Unmarshal([]byte(meta["objectives"]), &vals) != nil || len(vals) != len(k.objs) {
			return fmt.Errorf("keep weights: %s holds no objective values of this experiment", f)
		}
		k.kept[id] = vals
	}
	return nil
}

// mattering are the kept trials that still matter: all, the best by the first
// objective (ties to the lowest id, as the engine's best), the Pareto front.
func (k *keeper) mattering() map[uint64]bool {
	out := map[uint64]bool{}
	ids := make([]uint64, 0, len(k.kept))
	for id := range k.kept {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if k.all {
		for _, id := range ids {
			out[id] = true
		}
		return out
	}
	if k.best {
		var best uint64
		for _, id := range ids {
			if best == 0 || k.kept[id][0] > k.kept[best][0] {
				best = id
			}
		}
		out[best] = true
	}
	if k.front {
		up := make([]bool, len(k.objs))
		for i := range up {
			up[i] = true
		}
		for _, id := range ids {
			dominated := false
			for _, other := range ids {
				if other != id && pareto.Dominates(k.kept[other], k.kept[id], up) {
					dominated = true
					break
				}
			}
			if !dominated {
				out[id] = true
			}
		}
	}
	return out
}
