package nn

import (
	"sync"

	G "gorgonia.org/gorgonia"
)

// A training step writes every layer's output and every gradient once. With a
// buffer of its own for each (gorgonia keeps every node's value), the benchmark
// network at batch 64 holds 1.77 GB. PyTorch frees a gradient once used, and its
// allocator hands the block to the next layer. memPlan does the same for the ops of
// this package: an op's output goes back to a free list once each of its consumers
// has run, and the next op takes the most recently freed buffer that fits. The
// benchmark then holds 1.0 GB, which counts when several trials train at once; its
// speed did not change measurably.
type memPlan struct {
	free  [][]float32          // released buffers, the most recent last
	owner map[*float32]*opBase // the op whose output a buffer holds
	all   [][]float32          // every buffer made or taken from spare
	made  int                  // how many of all were made
}

// spare holds the buffers of plans whose models are done (Model.releaseMemory), for
// the next plan to take. Zero-cost proxies compile a network an arch: without it,
// each network left its 0.6 GB to the collector while the next allocated its own,
// and the heap grew to twice a network's need before a collection.
var spare struct {
	sync.Mutex
	bufs   [][]float32
	floats int
}

// fromSpare takes a spare buffer of at least n floats that does not waste half of it.
func fromSpare(n int) []float32 {
	spare.Lock()
	defer spare.Unlock()
	for i := len(spare.bufs) - 1; i >= 0; i-- {
		if f := spare.bufs[i]; cap(f) >= n && cap(f) <= 2*n {
			spare.bufs = append(spare.bufs[:i], spare.bufs[i+1:]...)
			spare.floats -= cap(f)
			return f[:cap(f)]
		}
	}
	return nil
}

// releaseMemory gives the output buffers of m's ops, planned or not, to spare. m's
// values are not to be read after.
func (m *Model) releaseMemory() {
	p := m.mem
	if p == nil {
		return
	}
	m.mem = nil
	bufs := p.all
	for _, n := range m.graph.AllNodes() { // the outputs outside the plan
		if s, ok := n.Op().(sharer); ok && s.base().buf != nil {
			bufs = append(bufs, s.base().buf)
			s.base().buf = nil
		}
	}
	spare.Lock()
	defer spare.Unlock()
	total := 0
	for _, f := range bufs {
		spare.bufs = append(spare.bufs, f)
		total += cap(f)
	}
	spare.floats += total
	// Keep no more than this model had: the oldest spares are of sizes the models
	// since did not take, and would only add up as networks of other shapes pass.
	for spare.floats > total {
		spare.floats -= cap(spare.bufs[0])
		spare.bufs[0] = nil // the backing array must not keep it
		spare.bufs = spare.bufs[1:]
	}
	p.all, p.free = nil, nil
	clear(p.owner)
}

// sharer is an op of this package: its output memory is an opBase.
type sharer interface{ base() *opBase }

func (b *opBase) base() *opBase { return b }

// PlanMemory lets the outputs of the model's ops share memory, once the model has
// its gradients. Only outputs that nothing reads outside a run, and that only ops of
// this package (which release their inputs) consume, are shared; supernet branches,
// which skip work, are left alone. Call it before building the machine that runs the
// graph; values of other nodes may change afterwards, so only Loss, Logits, the
// gradients of inputs and parameters, and ReLUs compiled with ReadReLUs stay
// readable after a run.
func (m *Model) PlanMemory() { m.planMemory(nil) }

// planMemory is PlanMemory, keeping the values of the nodes read also readable after
// a run (a probe's gradients).
func (m *Model) planMemory(read []*G.Node) {
	p := &memPlan{owner: map[*float32]*opBase{}}
	m.mem = p
	keep := map[*G.Node]bool{m.x: true, m.y: true, m.logits: true, m.loss: true}
	if m.readReLUs {
		read = append(read, m.relus...)
	}
	for _, ns := range [][]*G.Node{read, m.mixes, m.params} {
		for _, n := range ns {
			keep[n] = true
		}
	}
	nodes := m.graph.AllNodes()
	ops := map[*opBase]int{}
	for _, n := range nodes {
		if s, ok := n.Op().(sharer); ok {
			ops[s.base()]++
		}
	}
	for _, n := range nodes {
		s, ok := n.Op().(sharer)
		if !ok {
			continue
		}
		b := s.base()
		b.mem = p
		if keep[n] || len(b.skips) > 0 || ops[b] > 1 {
			continue
		}
		if _, ok := n.Op().(aliaser); ok {
			continue // its output is its input's memory, counted there
		}
		if uses, ours := m.reads(n, keep); ours {
			b.uses = uses
		}
	}
}

// aliaser is an op whose output is its input's memory (a tap): reading it reads the
// input.
type aliaser interface{ aliases() }

func (*tapOp) aliases() {}

// reads counts the runs of ops that read n's memory, through aliases, and says
// whether all are ops of this package that release it and none of it is kept. (A gorgonia op does not say when it is done.)
func (m *Model) reads(n *G.Node, keep map[*G.Node]bool) (uses int, ours bool) {
	users := m.graph.To(n.ID())
	for users.Next() {
		u := users.Node().(*G.Node)
		if _, ok := u.Op().(sharer); !ok {
			return 0, false
		}
		uses++
		if _, ok := u.Op().(aliaser); ok {
			k, o := m.reads(u, keep)
			if !o || keep[u] {
				return 0, false
			}
			uses += k
		}
	}
	return uses, true
}

// take gives op b n floats of output memory: its own buffer if it still holds one,
// else the most recently freed buffer that fits without wasting half of it.
func (p *memPlan) take(b *opBase, n int) []float32 {
	if b.held == nil || cap(b.held) < n {
		if b.held != nil {
			delete(p.owner, &b.held[:1][0])
		}
		b.held = nil
		for i := len(p.free) - 1; i >= 0; i-- {
			if f := p.free[i]; cap(f) >= n && cap(f) <= 2*n {
				b.held = f
				p.free = append(p.free[:i], p.free[i+1:]...)
				break
			}
		}
		if b.held == nil {
			if b.held = fromSpare(n); b.held == nil {
				b.held = make([]float32, n)
				p.made++
			}
			p.all = append(p.all, b.held)
		}
		p.owner[&b.held[:1][0]] = b
	}
	b.left = b.uses
	return b.held[:n]
}

// release counts the inputs of one run of an op as read; an input whose consumers
// have all run goes back to the free list.
func (p *memPlan) release(in []G.Value) {
	for i, v := range in {
		d, _, err := f32(v)
		if err != nil || len(d) == 0 {
			continue
		}
		b := p.owner[&d[0]]
		if b == nil || b.left == 0 || repeated(in[:i], &d[0]) {
			continue
		}
		if b.left--; b.left == 0 {
			p.free = append(p.free, b.held)
			delete(p.owner, &d[0])
			b.held = nil
		}
	}
}

// repeated says whether one of vs starts at p: an op reading one value twice.
func repeated(vs []G.Value, p *float32) bool {
	for _, v := range vs {
		if d, _, err := f32(v); err == nil && len(d) > 0 && &d[0] == p {
			return true
		}
	}
	return false
}
