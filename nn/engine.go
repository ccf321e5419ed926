package nn

import "gorgonia.org/tensor"

// engine is gorgonia's standard tensor engine with a parallel, vectorised Add. The
// values of this package's ops and of the training machine carry it, so that the
// additions gorgonia makes where a value's gradients meet (its own op, which runs
// the standard engine's loop on one core) use both cores.
type engine struct{ tensor.StdEng }

// Add adds two float32 tensors of one shape into a reused tensor or, unsafely, into
// a; anything else goes to the standard engine.
func (e engine) Add(a, b tensor.Tensor, opts ...tensor.FuncOpt) (tensor.Tensor, error) {
	x, xok := a.Data().([]float32)
	y, yok := b.Data().([]float32)
	if !xok || !yok || len(x) != len(y) || !a.Shape().Eq(b.Shape()) || a.RequiresIterator() || b.RequiresIterator() {
		return e.StdEng.Add(a, b, opts...)
	}
	fo := tensor.ParseFuncOpts(opts...)
	reuse, incr := fo.IncrReuse()
	var out []float32
	var ret tensor.Tensor
	switch {
	case incr || fo.Same():
		return e.StdEng.Add(a, b, opts...)
	case reuse != nil:
		o, ok := reuse.Data().([]float32)
		if !ok || len(o) != len(x) || reuse.RequiresIterator() {
			return e.StdEng.Add(a, b, opts...)
		}
		out, ret = o, reuse
	case !fo.Safe():
		out, ret = x, a
	default:
		return e.StdEng.Add(a, b, opts...)
	}
	parallelAdd(out, x, y)
	return ret, nil
}
