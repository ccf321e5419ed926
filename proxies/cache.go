package proxies

import (
	"sync"

	"cellar/spaces"
)

// dataFree caches data-free scores by space, proxy and arch for the whole process:
// a benchmark's hundred runs, or a predictor's rounds, score many of the same archs.
// The scores depend on nothing else (the initialisation seed is fixed at 1), so the
// cache changes no result.
var dataFree struct {
	sync.Mutex
	scores map[string]float64
}

// dataFreeMax bounds the cache; past it, scores are computed and not kept.
const dataFreeMax = 1 << 20

// DataFree is arch's score under a proxy that needs no data (synflow, params,
// flops), its network initialised from seed 1, computed once per process.
func DataFree(space spaces.Space, proxy string, a spaces.Arch) (float64, error) {
	key := space.Name() + "\x00" + proxy + "\x00" + a.String()
	dataFree.Lock()
	v, ok := dataFree.scores[key]
	dataFree.Unlock()
	if ok {
		return v, nil
	}
	net, err := space.Network(a)
	if err != nil {
		return 0, err
	}
	s, err := Score([]string{proxy}, net, Batch{}, 1)
	if err != nil {
		return 0, err
	}
	dataFree.Lock()
	if dataFree.scores == nil {
		dataFree.scores = map[string]float64{}
	}
	if len(dataFree.scores) < dataFreeMax {
		dataFree.scores[key] = s[proxy]
	}
	dataFree.Unlock()
	return s[proxy], nil
}
