package engine

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// CompareTrials lists, by trial id, how the trials of a replay differ from the
// original ones (empty when the replay reproduced them). Metrics named *_seconds measure wall-clock time and are not compared.
func CompareTrials(original, replayed map[uint64]Trial) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(original)) {
		o, r := original[id], replayed[id]
		if _, ok := replayed[id]; !ok {
			out = append(out, fmt.Sprintf("trial %d: not replayed", id))
			continue
		}
		var what []string
		if o.Arch != r.Arch {
			what = append(what, fmt.Sprintf("arch %s, was %s", r.Arch, o.Arch))
		}
		if o.Origin != r.Origin || o.Status() != r.Status() {
			what = append(what, fmt.Sprintf("%s %s, was %s %s", r.Origin, r.Status(), o.Origin, o.Status()))
		}
		if (o.Stop == nil) != (r.Stop == nil) || (o.Stop != nil && (o.Stop.Rung != r.Stop.Rung || o.Stop.Epoch != r.Stop.Epoch)) {
			what = append(what, fmt.Sprintf("stop %+v, was %+v", r.Stop, o.Stop))
		}
		for _, m := range slices.Sorted(maps.Keys(o.Metrics)) {
			if strings.HasSuffix(m, "_seconds") {
				continue
			}
			v, ok := r.Metrics[m]
			if !ok || (v != o.Metrics[m] && !(math.IsNaN(v) && math.IsNaN(o.Metrics[m]))) {
				what = append(what, fmt.Sprintf("%s %v, was %v", m, v, o.Metrics[m]))
			}
		}
		if len(what) > 0 {
			out = append(out, fmt.Sprintf("trial %d: %s", id, strings.Join(what, "; ")))
		}
	}
	return out
}
