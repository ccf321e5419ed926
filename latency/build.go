package latency

import (
	"context"
	"fmt"
	"math"
	"time"

	"cellar/spaces"
	"cellar/stats"
)

// Timer times one forward pass of a network (nn.ForwardTimer.Time).
type Timer func(*spaces.Net) (time.Duration, error)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Build times every distinct layer of nets that t (the machine's existing table,
// or nil) does not hold yet, and returns the table with them added. progress, when
// set, is called after each layer with the count done and the count to do.
func Build(ctx context.Context, t *Table, nets []*spaces.Net, timer Timer, progress func(done, total int)) (*Table, error) {
	out := &Table{Ops: map[string]float64{}}
	if t != nil {
		out.Machine, out.Batch, out.Reps, out.Overhead = t.Machine, t.Batch, t.Reps, t.Overhead
		for k, v := range t.Ops {
			out.Ops[k] = v
		}
	}
	e, err := empty()
	if err != nil {
		return nil, err
	}
	overhead, err := timer(e)
	if err != nil {
		return nil, fmt.Errorf("latency: empty pass: %w", err)
	}
	out.Overhead = ms(overhead)
	type todo struct {
		key string
		net *spaces.Net
	}
	var work []todo
	queued := map[string]bool{}
	for _, net := range nets {
		for _, l := range net.Layers {
			k, ok := Key(net, l)
			if !ok || queued[k] {
				continue
			}
			if _, have := out.Ops[k]; have {
				continue
			}
			queued[k] = true
			p, err := Probe(net, l)
			if err != nil {
				continue // modelled from the other entries (see Table.fit)
			}
			work = append(work, todo{k, p})
		}
	}
	for i, w := range work {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := timer(w.net)
		if err != nil {
			return nil, fmt.Errorf("latency: time %s: %w", w.key, err)
		}
		out.Ops[w.key] = max(0, ms(d)-out.Overhead)
		if progress != nil {
			progress(i+1, len(work))
		}
	}
	if err := out.calibrate(ctx, nets, timer); err != nil {
		return nil, err
	}
	out.Built = time.Now().UTC()
	return out, nil
}

// calibrations is how many of the build's networks are timed end to end to fit
// Table.Scale.
const calibrations = 10

// calibrate fits Scale, the geometric mean of (measured - overhead) / sum of layers,
// over up to calibrations networks spread evenly over nets.
func (t *Table) calibrate(ctx context.Context, nets []*spaces.Net, timer Timer) error {
	t.Scale = 1
	n := min(calibrations, len(nets))
	logs, used := 0.0, 0
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		net := nets[i*len(nets)/n]
		d, err := timer(net)
		if err != nil {
			return fmt.Errorf("latency: calibrate: %w", err)
		}
		sum := t.Estimate(net).MS - t.Overhead
		if sum <= 0 || ms(d) <= t.Overhead {
			continue
		}
		logs += math.Log((ms(d) - t.Overhead) / sum)
		used++
	}
	if used > 0 {
		t.Scale = math.Exp(logs / float64(used))
	}
	return nil
}

// Comparison is how well a table's estimates agree with measured end-to-end
// latencies of the same networks.
type Comparison struct {
	N         int
	Spearman  float64
	Kendall   float64
	MeanRel   float64 // mean of |estimate - measured| / measured
	Ratio     float64 // geometric mean of estimate / measured: which way the table errs
	Coverage  float64 // fraction of timed layers the table held
	Estimated []float64
	Measured  []float64 // ms
}

// Compare times each network end to end and sets it against the table's estimate.
func Compare(ctx context.Context, t *Table, nets []*spaces.Net, timer Timer, progress func(done, total int)) (Comparison, error) {
	c := Comparison{N: len(nets)}
	hits, layers := 0, 0
	for i, net := range nets {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		d, err := timer(net)
		if err != nil {
			return c, fmt.Errorf("latency: network %d: %w", i, err)
		}
		e := t.Estimate(net)
		hits, layers = hits+e.Hits, layers+e.Layers
		c.Estimated = append(c.Estimated, e.MS)
		c.Measured = append(c.Measured, ms(d))
		c.MeanRel += math.Abs(e.MS-ms(d)) / ms(d)
		c.Ratio += math.Log(e.MS / ms(d))
		if progress != nil {
			progress(i+1, len(nets))
		}
	}
	if len(nets) > 0 {
		c.MeanRel /= float64(len(nets))
		c.Ratio = math.Exp(c.Ratio / float64(len(nets)))
		c.Spearman = stats.Spearman(c.Estimated, c.Measured)
		c.Kendall = stats.Kendall(c.Estimated, c.Measured)
	}
	if layers > 0 {
		c.Coverage = float64(hits) / float64(layers)
	}
	return c, nil
}
