package proxies

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cellar/spaces"
)

// The embedded scores are what the proxies compute, checked on a sample of cells
// (the whole table with CELLAR_ZEROCOST_ALL=1). CELLAR_ZEROCOST_WRITE=1 computes
// every cell and writes the table anew (about 10 minutes on two cores).
func TestBuiltInNB201Scores(t *testing.T) {
	if os.Getenv("CELLAR_ZEROCOST_WRITE") == "1" {
		writeBuiltIn(t)
	}
	table, err := readBuiltIn(nb201ZeroCostGz)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	cells := []int{0, spaces.NB201Cells - 1}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 6 {
		cells = append(cells, rng.IntN(spaces.NB201Cells))
	}
	if testing.Short() {
		cells = cells[:3]
	}
	if os.Getenv("CELLAR_ZEROCOST_ALL") == "1" {
		cells = cells[:0]
		for i := range spaces.NB201Cells {
			cells = append(cells, i)
		}
	}
	for _, i := range cells {
		a := spaces.NB201Cell(i)
		scores, err := scoreCell(sp, a)
		if err != nil {
			t.Fatal(err)
		}
		for j, p := range builtInProxies {
			got := table[p][i]
			if d := math.Abs(got - scores[j]); d > 1e-6*math.Max(1, math.Abs(scores[j])) || (scores[j] == NoSignal) != (got == NoSignal) {
				t.Errorf("cell %d %s: %s %v embedded, %v computed", i, a, p, got, scores[j])
			}
			if v, ok := builtIn(sp, p, a); !ok || v != got {
				t.Errorf("cell %d: builtIn %v %v, want %v", i, v, ok, got)
			}
			if v, err := DataFree(sp, p, a); err != nil || v != got {
				t.Errorf("cell %d: DataFree %v (%v), the table %v", i, v, err, got)
			}
		}
	}
	// Other settings are not the table's.
	other, _ := spaces.NewNB201(spaces.NB201Options{Options: spaces.CIFAR, Channels: 8, Cells: 1})
	if _, ok := builtIn(other, "synflow", spaces.NB201Cell(5)); ok {
		t.Error("an nb201 of 8 channels took the benchmark skeleton's scores")
	}
	if _, ok := builtIn(sp, "flops", spaces.NB201Cell(5)); ok {
		t.Error("flops is not in the table, yet was found")
	}
}

func scoreCell(sp spaces.Space, a spaces.Arch) ([]float64, error) {
	net, err := sp.Network(a)
	if err != nil {
		return nil, err
	}
	s, err := Score(builtInProxies, net, Batch{}, 1)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(builtInProxies))
	for j, p := range builtInProxies {
		out[j] = s[p]
	}
	return out, nil
}

func writeBuiltIn(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float64, spaces.NB201Cells)
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, runtime.NumCPU())
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s, err := scoreCell(sp, spaces.NB201Cell(i))
				if err != nil {
					errs <- fmt.Errorf("cell %d: %w", i, err)
					return
				}
				rows[i] = s
			}
		}()
	}
	for i := range spaces.NB201Cells {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString(strings.Join(builtInProxies, ",") + "\n")
	for _, r := range rows {
		for j, v := range r {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64)) // shortest exact: NoSignal reads back as NoSignal
		}
		b.WriteByte('\n')
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(b.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("nb201_zerocost.csv.gz", gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	nb201ZeroCostGz = gz.Bytes()
}

// fakeStore is a Store in memory that counts what it is asked.
type fakeStore struct {
	kept         map[string]float64
	loads, saves int
}

func (f *fakeStore) Load(k string) (float64, bool) { f.loads++; v, ok := f.kept[k]; return v, ok }
func (f *fakeStore) Save(k string, v float64)      { f.saves++; f.kept[k] = v }

// Outside the built-in table, a space's scores go to its store and come back from it
// to another process (here, another instance of the space, which the process's own
// cache does not know).
func TestDataFreeKeepsScoresInAStore(t *testing.T) {
	opt := spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 4, Cells: 1}
	first, _ := spaces.NewNB201(opt)
	store := &fakeStore{kept: map[string]float64{}}
	stop := UseStore(first, "nb201{channels: 4}", store)
	a := spaces.NB201Cell(4242)
	v, err := DataFree(first, "synflow", a)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if store.saves != 1 || len(store.kept) != 1 {
		t.Fatalf("%d saves, %v kept; want the score saved once", store.saves, store.kept)
	}
	for k := range store.kept { // another process's: a value it can only have read
		store.kept[k] = v + 1000
	}
	second, _ := spaces.NewNB201(opt)
	defer UseStore(second, "nb201{channels: 4}", store)()
	if got, err := DataFree(second, "synflow", a); err != nil || got != v+1000 {
		t.Errorf("second space: %v (%v), want the stored %v", got, err, v+1000)
	}
}
