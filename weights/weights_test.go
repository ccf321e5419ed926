package weights

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	s := Set{
		"l1.weight":       {Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
		"l2.running_mean": {Shape: []int{2}, Data: []float32{-1.5, 3e-7}},
		"l9.bias":         {Shape: []int{0}, Data: []float32{}},
	}
	for i := range s["l1.weight"].Data {
		s["l1.weight"].Data[i] = float32(i) / 7
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := WriteFile(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("read back %v, wrote %v", got, s)
	}
	if err := WriteFileMeta(path, s, map[string]string{"trial": "7"}); err != nil {
		t.Fatal(err)
	}
	if meta, err := ReadMeta(path); err != nil || meta["trial"] != "7" {
		t.Errorf("metadata %v, %v", meta, err)
	}
	if again, err := ReadFile(path); err != nil || !reflect.DeepEqual(again, s) {
		t.Errorf("with metadata, read back %v, %v", again, err)
	}
	if n := got.Count(".weight"); n != 18 {
		t.Errorf("count of weights %d, want 18", n)
	}
	var a, b bytes.Buffer
	Write(&a, s)
	Write(&b, got)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same set wrote different bytes")
	}
	if err := Write(&a, Set{"x": {Shape: []int{3}, Data: []float32{1}}}); err == nil {
		t.Error("a shape that does not match its data was written")
	}
}

func TestDamagedFilesAreErrors(t *testing.T) {
	var good bytes.Buffer
	Write(&good, Set{"w": {Shape: []int{2}, Data: []float32{1, 2}}})
	for name, b := range map[string][]byte{
		"empty":          nil,
		"huge header":    append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, good.Bytes()[8:]...),
		"truncated data": good.Bytes()[:good.Len()-2],
		"bad json":       append(append([]byte{}, good.Bytes()[:8]...), bytes.Repeat([]byte("{"), good.Len()-8)...),
		"f16":            []byte("\x38\x00\x00\x00\x00\x00\x00\x00{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}    \x00\x00"),
	} {
		if _, err := Read(b); err == nil {
			t.Errorf("%s: read without an error", name)
		}
	}
}

func FuzzRead(f *testing.F) {
	var good bytes.Buffer
	Write(&good, Set{"w": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}}})
	f.Add(good.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Read(b)
		if err != nil {
			return
		}
		for name, tensor := range s {
			if tensor.Len() != len(tensor.Data) {
				t.Fatalf("%s: shape %v, %d values", name, tensor.Shape, len(tensor.Data))
			}
		}
	})
}
