// Package weights holds a network's named tensors and reads and writes them in the
// safetensors layout (an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, then the raw little-endian data), which
// PyTorch, JAX and the Hugging Face tools load as they are. Names follow PyTorch's
// state_dict of the exported module: "l12.weight", "l13.running_mean". It imports
// nothing of cellar.
package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
)

// Tensor is a float32 tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Len is the number of values the shape holds.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Set is a network's tensors by name.
type Set map[string]Tensor

// Count is the number of values in every tensor whose name ends in one of suffixes
// (all tensors when none is given).
func (s Set) Count(suffixes ...string) int {
	n := 0
	for name, t := range s {
		if len(suffixes) == 0 || slices.ContainsFunc(suffixes, func(x string) bool { return len(name) >= len(x) && name[len(name)-len(x):] == x }) {
			n += t.Len()
		}
	}
	return n
}

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the header a reader accepts: a damaged length cannot make it
// allocate gigabytes.
const maxHeader = 100 << 20

// Write writes s to w in the safetensors layout, tensors in name order (so the same
// set gives the same bytes).
func Write(w io.Writer, s Set) error { return WriteMeta(w, s, nil) }

// WriteMeta is Write with the header's free-form string metadata ("__metadata__").
func WriteMeta(w io.Writer, s Set, meta map[string]string) error {
	names := slices.Sorted(maps.Keys(s))
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, name := range names {
		t := s[name]
		if t.Len() != len(t.Data) {
			return fmt.Errorf("weights: %s: shape %v holds %d values, data %d", name, t.Shape, t.Len(), len(t.Data))
		}
		n := int64(4 * len(t.Data))
		header[name] = entry{DType: "F32", Shape: t.Shape, Offsets: [2]int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 { // the data starts 8-byte aligned, as the format recommends
		h = append(h, ' ')
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(buf, h...)
	for _, name := range names {
		for _, v := range s[name].Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	_, err = w.Write(buf)
	return err
}

// WriteFile writes s to path, through a temporary file renamed into place, so a
// reader never sees half a file.
func WriteFile(path string, s Set) error { return WriteFileMeta(path, s, nil) }

// WriteFileMeta is WriteFile with metadata in the header.
func WriteFileMeta(path string, s Set, meta map[string]string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := WriteMeta(f, s, meta); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	// Synced before the rename: after a power cut the path holds the old weights or
	// the new, never a renamed file whose data never reached the disk.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// Read parses a safetensors file of F32 tensors. Every offset and shape is checked
// against the data, so a damaged file is an error naming the tensor, never a panic.
func Read(b []byte) (Set, error) {
	if len(b) < 8 {
		return nil, errors.New("weights: shorter than a safetensors header length")
	}
	hl := binary.LittleEndian.Uint64(b)
	if hl > maxHeader || hl > uint64(len(b)-8) {
		return nil, fmt.Errorf("weights: a header of %d bytes in a file of %d", hl, len(b))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &header); err != nil {
		return nil, fmt.Errorf("weights: header: %w", err)
	}
	data := b[8+hl:]
	out := Set{}
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("weights: %s: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, fmt.Errorf("weights: %s: dtype %s; cellar reads F32", name, e.DType)
		}
		t := Tensor{Shape: e.Shape}
		n := 1
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt32/d) {
				return nil, fmt.Errorf("weights: %s: shape %v", name, e.Shape)
			}
			n *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || hi-lo != int64(4*n) {
			return nil, fmt.Errorf("weights: %s: bytes %d to %d for %d values, in %d bytes of data", name, lo, hi, n, len(data))
		}
		t.Data = make([]float32, n)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+int64(4*i):]))
		}
		out[name] = t
	}
	return out, nil
}

// ReadFile reads a safetensors file.
func ReadFile(path string) (Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ReadMeta reads only the header's metadata of a safetensors file.
func ReadMeta(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	hl := binary.LittleEndian.Uint64(n[:])
	if hl > maxHeader {
		return nil, fmt.Errorf("%s: a header of %d bytes", path, hl)
	}
	h := make([]byte, hl)
	if _, err := io.ReadFull(f, h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var header struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(h, &header); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	return header.Meta, nil
}
