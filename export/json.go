package export

import (
	"encoding/json"

	"cellar/spaces"
)

// JSONVersion is the version of the JSON form's schema (docs/export.md). A reader
// checks "format" and "version"; fields are only ever added within a version.
const JSONVersion = 1

// Document is the JSON form: the arch, its space, and the IR with shapes and counts.
type Document struct {
	Format  string      `json:"format"` // "cellar.network"
	Version int         `json:"version"`
	Meta    Meta        `json:"network"`
	Input   [3]int      `json:"input"` // channels, height, width
	Classes int         `json:"classes"`
	Params  int         `json:"params"`
	FLOPs   int64       `json:"flops"` // multiply-adds per sample
	Output  int         `json:"output"`
	Layers  []JSONLayer `json:"layers"`
}

// JSONLayer is one layer of the IR: the attributes its kind has, the others left out.
type JSONLayer struct {
	ID       int         `json:"id"`
	Kind     spaces.Kind `json:"kind"`
	Name     string      `json:"name"`
	Inputs   []int       `json:"inputs"`
	Shape    [3]int      `json:"shape"` // of its output, per sample
	OutC     int         `json:"out_channels,omitempty"`
	Kernel   int         `json:"kernel,omitempty"`
	Stride   int         `json:"stride,omitempty"`
	Pad      int         `json:"padding,omitempty"`
	Dilation int         `json:"dilation,omitempty"`
	Groups   int         `json:"groups,omitempty"`
	Bias     bool        `json:"bias,omitempty"`
	Affine   bool        `json:"affine,omitempty"`
	Params   int         `json:"params"`
	FLOPs    int64       `json:"flops"`
}

// JSON is net's JSON form, indented.
func JSON(net *spaces.Net, meta Meta) ([]byte, error) {
	if err := check(net, "json"); err != nil {
		return nil, err
	}
	in := net.Layers[0].Shape
	out := net.Layers[net.Output].Shape
	d := Document{Format: "cellar.network", Version: JSONVersion, Meta: meta, Input: [3]int{in.C, in.H, in.W},
		Classes: out.C, Params: net.Params(), FLOPs: net.FLOPs(), Output: net.Output}
	for _, l := range net.Layers {
		jl := JSONLayer{ID: l.ID, Kind: l.Kind, Name: l.Name, Inputs: l.Inputs, Shape: [3]int{l.Shape.C, l.Shape.H, l.Shape.W},
			OutC: l.OutC, Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad, Dilation: l.Dilation, Groups: l.Groups,
			Bias: l.Bias, Affine: l.Affine, Params: net.LayerParams(l), FLOPs: net.LayerFLOPs(l)}
		if jl.Inputs == nil {
			jl.Inputs = []int{}
		}
		d.Layers = append(d.Layers, jl)
	}
	return json.MarshalIndent(d, "", "  ")
}
