package engine

import (
	"slices"

	"cellar/pareto"
)

// frontMember is a done trial on the Pareto front, with its oriented objectives.
type frontMember struct {
	id     uint64
	arch   string
	scores []float64
}

// addToFront puts a done trial on the front if nothing there dominates it, and drops
// what it dominates. Each trial is compared with the front only, which stays small.
// Adding a trial twice changes nothing, and an arch is on it once: a later trial of
// an arch on the front (evaluated again) joins it only if it dominates the earlier.
func (e *Engine) addToFront(t Trial) {
	if len(e.exp.Config.Objectives) < 2 || !t.Full() || t.Duplicate != 0 {
		return
	}
	sc, err := e.scores(t)
	if err != nil {
		return
	}
	up := make([]bool, len(sc))
	for i := range up {
		up[i] = true
	}
	for _, m := range e.front {
		if m.id == t.ID || pareto.Dominates(m.scores, sc, up) || m.arch == t.Arch && !pareto.Dominates(sc, m.scores, up) {
			return
		}
	}
	kept := e.front[:0]
	for _, m := range e.front {
		if !pareto.Dominates(sc, m.scores, up) {
			kept = append(kept, m)
		}
	}
	e.front = append(kept, frontMember{id: t.ID, arch: t.Arch, scores: sc})
	ids := e.frontIDs()
	e.mu.Lock()
	e.status.Front = ids
	e.mu.Unlock()
}

// frontIDs are the front's trial ids, ascending.
func (e *Engine) frontIDs() []uint64 {
	ids := make([]uint64, len(e.front))
	for i, m := range e.front {
		ids[i] = m.id
	}
	slices.Sort(ids)
	return ids
}
