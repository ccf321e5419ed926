package groundtruth

import (
	"cmp"
	"context"
	"slices"
	"testing"

	"cellar/datasets"
)

// BenchmarkSeedGapSource measures where the 30,000-example table's seed gaps come
// from: 14 of its archs (above 50%, spread over its order) are trained again with
// seeds 1 and 2 and scored both on the table's 5,000 held-out examples and on the
// 10,000 test examples. Eval noise is independent between the two sets, training
// noise is shared, so the mean product of the two gaps over their mean square on the
// held-out set is the training noise's share. About 15 min on 2 cores:
//
//	go test ./groundtruth -run '^$' -bench SeedGapSource -benchtime 1x
func BenchmarkSeedGapSource(b *testing.B) {
	rows, err := Load("testdata/nb201-fashion-mnist-30k.csv")
	if err != nil {
		b.Fatal(err)
	}
	var above []Row
	for _, r := range rows {
		if len(r.Acc) == 2 && r.Mean() > 50 {
			above = append(above, r)
		}
	}
	slices.SortStableFunc(above, func(x, y Row) int { return cmp.Compare(x.Mean(), y.Mean()) })
	opt := Defaults
	opt.Train, opt.TrainConfig.Epochs = 30000, 3
	bl, err := NewBuilder(opt)
	if err != nil {
		b.Fatal(err)
	}
	data, err := datasets.Load(opt.Dataset, opt.Path)
	if err != nil {
		b.Fatal(err)
	}
	const k = 14
	for b.Loop() {
		var valSq, testSq, cross float64
		for i := range k {
			r := above[i*len(above)/k]
			_, res, err := bl.trainSeeds(context.Background(), r.Arch, []uint64{1, 2}, data.Test)
			if err != nil {
				b.Fatal(err)
			}
			if res[0].ValAcc != r.Acc[0] || res[1].ValAcc != r.Acc[1] {
				b.Fatalf("%s retrained: %v %v on the held-out set, the table has %v", r.Arch, res[0].ValAcc, res[1].ValAcc, r.Acc)
			}
			dv, dt := res[0].ValAcc-res[1].ValAcc, res[0].TestAcc-res[1].TestAcc
			valSq, testSq, cross = valSq+dv*dv/k, testSq+dt*dt/k, cross+dv*dt/k
		}
		b.ReportMetric(valSq, "val-gap-sq")
		b.ReportMetric(testSq, "test-gap-sq")
		b.ReportMetric(cross, "gap-product")
		b.ReportMetric(cross/valSq, "training-share")
	}
}
