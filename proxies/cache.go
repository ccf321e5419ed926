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
	kept, keptKey := storeOf(space, proxy, a)
	dataFree.Unlock()
	v, err := func() (float64, error) {
		if kept != nil {
			if v, ok := kept.Load(keptKey); ok {
				return v, nil
			}
		}
		net, err := space.Network(a)
		if err != nil {
			return 0, err
		}
		s, err := Score([]string{proxy}, net, Batch{}, 1)
		if err != nil {
			return 0, err
		}
		if kept != nil {
			kept.Save(keptKey, s[proxy])
		}
		return s[proxy], nil
	}()
	if err != nil {
		return 0, err
	}
	dataFree.Lock()
	if key != "" && len(dataFree.scores) < dataFreeMax {
		dataFree.scores[key] = v
	}
	dataFree.Unlock()
	return v, nil
}

// Store keeps data-free scores beyond the process: the database of a search.
type Store interface {
	Load(key string) (float64, bool)
	Save(key string, v float64)
}

// stores are the stores spaces' scores are kept in, with the label that names the
// space with its settings in their keys; guarded by dataFree's lock.
var stores = map[spaces.Space]labelled{}

// labelled is a store with the label its keys begin with.
type labelled struct {
	label string
	s     Store
}

// UseStore has DataFree keep space's scores in s as well, under keys that begin with
// label (the space and its settings, e.g. a config's component), so a search pays for
// an arch's scores once per store; stop ends it.
func UseStore(space spaces.Space, label string, s Store) (stop func()) {
	if reflect.TypeOf(space).Kind() != reflect.Pointer { // as spaceID: a key must hash
		return func() {}
	}
	dataFree.Lock()
	defer dataFree.Unlock()
	stores[space] = labelled{label, s}
	return func() {
		dataFree.Lock()
		defer dataFree.Unlock()
		delete(stores, space)
	}
}

// storeOf is the store of space's scores and the key of a's under proxy there, or
// nil. Called with dataFree held.
func storeOf(space spaces.Space, proxy string, a spaces.Arch) (Store, string) {
	if len(stores) == 0 || reflect.TypeOf(space).Kind() != reflect.Pointer {
		return nil, ""
	}
	st, ok := stores[space]
	if !ok {
		return nil, ""
	}
	return st.s, st.label + "\x00" + proxy + "\x00" + a.String()
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
