// Package export writes a network's IR (spaces.Net) in the forms other tools load: a
// self-contained PyTorch module (PyTorch), a versioned JSON description (JSON) and an
// ONNX model (ONNX). It reads the IR only, never a genotype, so every space exports,
// and the layer kinds each form can express are listed in Kinds. Weights travel as a
// weights.Set named as the PyTorch module's state_dict ("l{ID}.weight", ...), the
// names nn.Model.StateDict gives.
package export

import (
	"fmt"
	"maps"
	"slices"

	"cellar/spaces"
)

// Meta says what a network is, for the headers of its exports.
type Meta struct {
	Space        string         `json:"space"`
	SpaceOptions map[string]any `json:"space_options,omitempty"`
	Arch         string         `json:"arch"`
	// Trial and Experiment are set when the arch is a stored trial's.
	Experiment uint64 `json:"experiment,omitempty"`
	Trial      uint64 `json:"trial,omitempty"`
}

// Kinds lists, for each format, the layer kinds it expresses, from each format's
// table of kinds (JSON describes any layer). The tests require every kind of
// spaces.Kinds in each.
var Kinds = map[string][]spaces.Kind{
	"pytorch": slices.Collect(maps.Keys(pytorchKinds)),
	"json":    spaces.Kinds(),
	"onnx":    slices.Collect(maps.Keys(onnxKinds)),
}

// check refuses a net an export cannot be faithful to: an output that is not the
// last layer's kind we know, or a layer kind outside Kinds.
func check(net *spaces.Net, format string) error {
	if net == nil || len(net.Layers) == 0 || net.Layers[0].Kind != spaces.Input {
		return fmt.Errorf("export %s: a network must start with its input layer", format)
	}
	if net.Output < 0 || net.Output >= len(net.Layers) {
		return fmt.Errorf("export %s: output layer %d is not a layer", format, net.Output)
	}
	for _, l := range net.Layers {
		if !slices.Contains(Kinds[format], l.Kind) {
			return fmt.Errorf("export %s: layer %d (%s) is a %s, which %s cannot express", format, l.ID, l.Name, l.Kind, format)
		}
	}
	return nil
}
