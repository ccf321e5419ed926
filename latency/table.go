// Package latency estimates a network's inference latency on this machine from a
// lookup table of its layers, each timed on its own (the approach of ProxylessNAS and
// FBNet). The table is keyed by machine: CPU model, thread count and nn's backend.
// Timing is done by a Timer that the caller supplies (nn's forward passes), so this
// package is pure Go over the IR.
package latency

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"cellar/spaces"
)

// Machine identifies where a table was measured: its timings hold only there.
type Machine struct {
	CPU     string `json:"cpu"`
	Threads int    `json:"threads"`
	BLAS    string `json:"blas"`
}

// Key is the machine's key in the database.
func (m Machine) Key() string { return fmt.Sprintf("%s | %d threads | %s", m.CPU, m.Threads, m.BLAS) }

// ThisMachine describes the machine the process runs on: the CPU model from
// /proc/cpuinfo (the architecture where that is unreadable), GOMAXPROCS threads, and
// how nn computes convolutions (nn.Backend: its AVX-512 kernels, or im2col with the
// BLAS it was built with).
func ThisMachine(backend string) Machine {
	return Machine{CPU: cpuModel(), Threads: runtime.GOMAXPROCS(0), BLAS: backend}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && strings.TrimSpace(k) == "model name" {
				return strings.Join(strings.Fields(v), " ")
			}
		}
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

// Table is a latency lookup table: the time of one forward pass of each distinct
// layer, over the time of a pass of an empty graph (Overhead), in milliseconds.
type Table struct {
	Machine  Machine   `json:"machine"`
	Batch    int       `json:"batch"`
	Reps     int       `json:"reps"`
	Built    time.Time `json:"built"`
	Overhead float64   `json:"overhead_ms"`
	// Scale multiplies the sum of layers: a layer timed alone pays per-pass costs
	// that a whole network shares out, so Build fits it on end-to-end passes (0 in
	// tables from before it existed, read as 1).
	Scale float64            `json:"scale,omitempty"`
	Ops   map[string]float64 `json:"ops"`

	once sync.Once
	fits map[spaces.Kind]fit // for layers missing from Ops
}

// Estimate is a network's estimated latency and how much of it the table covered.
type Estimate struct {
	MS     float64
	Layers int // layers that cost time
	Hits   int // of which the table holds; the rest are modelled from their work
}

// Estimate sums the table over the network's timed layers (see timed).
func (t *Table) Estimate(net *spaces.Net) Estimate {
	t.once.Do(t.fit)
	e := Estimate{}
	for _, tl := range timed(net) {
		e.Layers++
		if ms, ok := t.Ops[tl.key]; ok {
			e.MS += ms
			e.Hits++
			continue
		}
		e.MS += t.fits[tl.Kind].at(work(net, tl.Layer))
	}
	scale := t.Scale
	if scale == 0 {
		scale = 1
	}
	e.MS = t.Overhead + scale*e.MS
	return e
}

// timedLayer is a layer that costs time, with its key.
type timedLayer struct {
	spaces.Layer
	key string
}

// timed lists the layers a compiled network spends time on: those with a key, less
// parameter-free layers that repeat another on the same inputs (two edges' ReLUs of
// one node), which gorgonia merges and computes once.
func timed(net *spaces.Net) []timedLayer {
	var out []timedLayer
	seen := map[string]bool{}
	for _, l := range net.Layers {
		k, ok := Key(net, l)
		if !ok {
			continue
		}
		if !hasParams(l.Kind) {
			dup := fmt.Sprint(k, l.Inputs)
			if seen[dup] {
				continue
			}
			seen[dup] = true
		}
		out = append(out, timedLayer{l, k})
	}
	return out
}

func hasParams(k spaces.Kind) bool {
	return k == spaces.Conv || k == spaces.Linear || k == spaces.FactReduce || k == spaces.BatchNorm
}

// keys name a layer of each kind by everything that sets its cost; nil for the kinds
// that cost nothing (the input, identities). A kind missing here is a test failure
// (TestEveryKindHasAKey).
var keys = map[spaces.Kind]func(net *spaces.Net, l spaces.Layer, in spaces.Shape) string{
	spaces.Input:    nil,
	spaces.Identity: nil,
	spaces.Conv: func(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
		return fmt.Sprintf("conv %v o%d k%d s%d p%d d%d g%d b%t", in, l.OutC, l.Kernel, l.Stride, l.Pad, l.Dilation, l.Groups, l.Bias)
	},
	spaces.BatchNorm: func(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
		return fmt.Sprintf("batchnorm %v a%t", in, l.Affine)
	},
	spaces.MaxPool: poolKey,
	spaces.AvgPool: poolKey,
	spaces.Add: func(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
		return fmt.Sprintf("add %v x%d", in, len(l.Inputs))
	},
	spaces.Concat: func(net *spaces.Net, l spaces.Layer, _ spaces.Shape) string {
		shapes := make([]string, len(l.Inputs))
		for i, id := range l.Inputs {
			shapes[i] = net.Layers[id].Shape.String()
		}
		return "concat " + strings.Join(shapes, ",")
	},
	spaces.Zero: func(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
		return fmt.Sprintf("zero %v s%d", in, l.Stride)
	},
	spaces.FactReduce: projectionKey,
	spaces.Linear:     projectionKey,
	spaces.ReLU:       plainKey,
	spaces.GlobalPool: plainKey,
}

func poolKey(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
	return fmt.Sprintf("%s %v k%d s%d p%d", l.Kind, in, l.Kernel, l.Stride, l.Pad)
}

func projectionKey(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
	return fmt.Sprintf("%s %v o%d b%t", l.Kind, in, l.OutC, l.Bias)
}

func plainKey(_ *spaces.Net, l spaces.Layer, in spaces.Shape) string {
	return fmt.Sprintf("%s %v", l.Kind, in)
}

// Key names a layer by everything that sets its cost: kind, input shapes and
// attributes. Layers that cost nothing (the input, identities) have no key.
func Key(net *spaces.Net, l spaces.Layer) (string, bool) {
	key := keys[l.Kind]
	if key == nil {
		return "", false
	}
	return key(net, l, net.Layers[l.Inputs[0]].Shape), true
}

// Probe is a network of l alone, on inputs of its inputs' shape, to time it. A
// layer with several inputs gets the one input several times; a concat of unequal
// shapes cannot be built so and has no probe (the table models it).
func Probe(net *spaces.Net, l spaces.Layer) (*spaces.Net, error) {
	in := net.Layers[l.Inputs[0]].Shape
	for _, id := range l.Inputs[1:] {
		if net.Layers[id].Shape != in {
			return nil, fmt.Errorf("latency: layer %d (%s) has inputs of unequal shapes", l.ID, l.Kind)
		}
	}
	b := spaces.NewNetBuilder(in)
	p := l
	p.Inputs = make([]int, len(l.Inputs)) // all the input layer, id 0
	return b.Finish(b.Add(p))
}

// empty is the network whose pass is the overhead every pass pays.
func empty() (*spaces.Net, error) {
	b := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 1, W: 1})
	return b.Finish(b.Add(spaces.Layer{Kind: spaces.Identity, Inputs: []int{0}}))
}

// work is what a layer's time grows with: its FLOPs where it has them, otherwise the
// values it reads and writes.
func work(net *spaces.Net, l spaces.Layer) float64 {
	if f := net.LayerFLOPs(l); f > 0 {
		return float64(f)
	}
	n := l.Shape.Elems()
	for _, id := range l.Inputs {
		n += net.Layers[id].Shape.Elems()
	}
	return float64(n)
}

// fit is a line through one kind's table entries: ms = A + B*work.
type fit struct{ A, B float64 }

func (f fit) at(w float64) float64 { return max(0, f.A+f.B*w) }

// fit models each kind from the keys the table holds, for layers it lacks: least
// squares of ms on work. Keys carry their layer's shapes, so the layer is rebuilt
// from its key's probe, which the table stored with it (see Build).
func (t *Table) fit() {
	type pts struct{ w, ms []float64 }
	by := map[spaces.Kind]*pts{}
	var all pts
	for k, ms := range t.Ops {
		kind, w, ok := parseWork(k)
		if !ok {
			continue
		}
		p := by[kind]
		if p == nil {
			p = &pts{}
			by[kind] = p
		}
		p.w, p.ms = append(p.w, w), append(p.ms, ms)
		all.w, all.ms = append(all.w, w), append(all.ms, ms)
	}
	global := line(all.w, all.ms)
	t.fits = map[spaces.Kind]fit{}
	for _, kind := range kinds {
		if p := by[kind]; p != nil && len(p.w) >= 3 {
			t.fits[kind] = line(p.w, p.ms)
		} else {
			t.fits[kind] = global
		}
	}
}

var kinds = []spaces.Kind{spaces.Conv, spaces.BatchNorm, spaces.ReLU, spaces.MaxPool, spaces.AvgPool, spaces.GlobalPool, spaces.Add, spaces.Concat, spaces.Zero, spaces.FactReduce, spaces.Linear}

// line is the least-squares line through (x, y); a flat line at the mean when x
// does not vary, and zero with no points.
func line(x, y []float64) fit {
	n := float64(len(x))
	if n == 0 {
		return fit{}
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return fit{A: sy / n}
	}
	b := (n*sxy - sx*sy) / d
	return fit{A: (sy - b*sx) / n, B: b}
}

// parseWork recovers a key's kind and work by rebuilding its layer.
func parseWork(key string) (spaces.Kind, float64, bool) {
	net, l, err := layerOfKey(key)
	if err != nil {
		return "", 0, false
	}
	return l.Kind, work(net, l), true
}

// layerOfKey rebuilds the probe network a key was measured on.
func layerOfKey(key string) (*spaces.Net, spaces.Layer, error) {
	f := strings.Fields(key)
	if len(f) < 2 {
		return nil, spaces.Layer{}, fmt.Errorf("latency: bad key %q", key)
	}
	l := spaces.Layer{Kind: spaces.Kind(f[0])}
	var shapes []spaces.Shape
	for _, s := range strings.Split(f[1], ",") {
		var sh spaces.Shape
		if _, err := fmt.Sscanf(s, "%dx%dx%d", &sh.C, &sh.H, &sh.W); err != nil {
			return nil, l, fmt.Errorf("latency: key %q: shape %q: %w", key, s, err)
		}
		shapes = append(shapes, sh)
	}
	inputs := 1
	ints := map[byte]*int{'o': &l.OutC, 'k': &l.Kernel, 's': &l.Stride, 'p': &l.Pad, 'd': &l.Dilation, 'g': &l.Groups, 'x': &inputs}
	for _, a := range f[2:] {
		switch a[0] {
		case 'b':
			l.Bias = a == "btrue"
		case 'a':
			l.Affine = a == "atrue"
		default:
			dst, ok := ints[a[0]]
			if !ok {
				return nil, l, fmt.Errorf("latency: key %q: unknown attribute %q", key, a)
			}
			n, err := strconv.Atoi(a[1:])
			if err != nil {
				return nil, l, fmt.Errorf("latency: key %q: %q: %w", key, a, err)
			}
			*dst = n
		}
	}
	if l.Kind == spaces.Concat {
		// Rebuild as a concat of equal inputs of the same total channels: the work
		// (values moved) is the same.
		total := 0
		for _, s := range shapes {
			total += s.C
		}
		shapes = []spaces.Shape{{C: total, H: shapes[0].H, W: shapes[0].W}}
	}
	b := spaces.NewNetBuilder(shapes[0])
	l.Inputs = make([]int, inputs)
	net, err := b.Finish(b.Add(l))
	if err != nil {
		return nil, l, err
	}
	return net, net.Layers[net.Output], nil
}
