package proxies

import (
	"reflect"
	"strconv"
	"sync"

	"cellar/spaces"
)

// dataFree caches data-free scores by space, proxy and arch for the whole process:
// a benchmark's hundred runs, or a predictor's rounds, score many of the same archs.
// The scores depend on nothing else (the initialisation seed is fixed at 1), so the
// cache changes no result. A space is told apart by its identity, not its name: two
// nb201 spaces of other channels give other scores. Holding each space here keeps its
// address from being reused by another while its scores are kept.
var dataFree struct {
	sync.Mutex
	scores map[string]float64
	spaces map[spaces.Space]int
}

// dataFreeMax bounds the cache; past it, scores are computed and not kept.
const dataFreeMax = 1 << 20

// DataFree is arch's score under a proxy that needs no data (synflow, params,
// live_params, flops), its network initialised from seed 1, computed once per
// process and space; NB201's synflow and live_params at the benchmark's settings are
// read from the table built in.
func DataFree(space spaces.Space, proxy string, a spaces.Arch) (float64, error) {
	if v, ok := builtIn(space, proxy, a); ok { // NB201 at the benchmark's settings
		return v, nil
	}
	key := "" // stays empty for a space that is not cached
	dataFree.Lock()
	if id, ok := spaceID(space); ok {
		key = strconv.Itoa(id) + "\x00" + proxy + "\x00" + a.String()
		if v, ok := dataFree.scores[key]; ok {
			dataFree.Unlock()
			return v, nil
		}
	}
	dataFree.Unlock()
	net, err := space.Network(a)
	if err != nil {
		return 0, err
	}
	s, err := Score([]string{proxy}, net, Batch{}, 1)
	if err != nil {
		return 0, err
	}
	dataFree.Lock()
	if key != "" && len(dataFree.scores) < dataFreeMax {
		dataFree.scores[key] = s[proxy]
	}
	dataFree.Unlock()
	return s[proxy], nil
}

// spaceID numbers space in the cache's keys. Only a space held by pointer is cached
// (every space of package spaces is): a struct value may hold a slice, which cannot
// be a map key. Called with dataFree held.
func spaceID(space spaces.Space) (int, bool) {
	if reflect.TypeOf(space).Kind() != reflect.Pointer {
		return 0, false
	}
	if dataFree.spaces == nil {
		dataFree.spaces, dataFree.scores = map[spaces.Space]int{}, map[string]float64{}
	}
	id, ok := dataFree.spaces[space]
	if !ok {
		if len(dataFree.spaces) >= 1<<10 { // past that, the spaces are not kept either
			return 0, false
		}
		id = len(dataFree.spaces)
		dataFree.spaces[space] = id
	}
	return id, true
}
