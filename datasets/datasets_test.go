package datasets

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mnist(t testing.TB) *Data {
	t.Helper()
	d, err := Load("mnist", "")
	if err != nil {
		t.Fatalf("built-in MNIST: %v", err)
	}
	return d
}

func TestMNISTLoads(t *testing.T) {
	d := mnist(t)
	if d.Train.N != 60000 || d.Test.N != 10000 || d.Train.Shape() != [3]int{1, 28, 28} {
		t.Fatalf("train %d, test %d, shape %v", d.Train.N, d.Test.N, d.Train.Shape())
	}
	if m := d.Train.Mean[0]; math.Abs(float64(m)-0.1307) > 1e-3 {
		t.Errorf("MNIST mean %v, want 0.1307", m)
	}
	train, val, err := d.Split(5000, 1000)
	if err != nil || train.N != 1000 || val.N != 5000 {
		t.Fatalf("split: %d, %d, %v", train.N, val.N, err)
	}
	if _, _, err := d.Split(60000, 0); err == nil {
		t.Error("a validation set of the whole training set was accepted")
	}
	if _, _, err := d.Split(5000, 56000); err == nil {
		t.Error("a subset larger than the training part was accepted")
	}
}

func writeCIFAR(t *testing.T, dir string, n int, badLabel bool) {
	t.Helper()
	for _, f := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		var raw []byte
		for i := 0; i < n; i++ {
			label := byte(i % 10)
			if badLabel && f == "data_batch_3.bin" && i == 1 {
				label = 11
			}
			raw = append(raw, label)
			for p := 0; p < 3072; p++ {
				raw = append(raw, byte((i*7+p)%256))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCIFAR10Format(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR(t, dir, 4, false)
	d, err := Load("cifar10", dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 20 || d.Test.N != 4 || d.Train.Shape() != [3]int{3, 32, 32} || d.Train.Labels[3] != 3 {
		t.Fatalf("train %d test %d shape %v", d.Train.N, d.Test.N, d.Train.Shape())
	}
	bad := t.TempDir()
	writeCIFAR(t, bad, 4, true)
	if _, err := Load("cifar10", bad); err == nil || !strings.Contains(err.Error(), "data_batch_3.bin record 1: label 11") {
		t.Errorf("bad label: %v", err)
	}
	trunc := t.TempDir()
	writeCIFAR(t, trunc, 2, false)
	os.WriteFile(filepath.Join(trunc, "data_batch_2.bin"), make([]byte, 100), 0o600)
	if _, err := Load("cifar10", trunc); err == nil || !strings.Contains(err.Error(), "not a whole number of 3073-byte records") {
		t.Errorf("truncated batch: %v", err)
	}
	if _, err := Load("cifar10", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing files: %v", err)
	}
	if _, err := Load("cifar10", ""); err == nil || !strings.Contains(err.Error(), "give the folder") {
		t.Errorf("no path: %v", err)
	}
}

func TestIDXErrors(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 16+2*4)
	binary.BigEndian.PutUint32(img, 0x803)
	binary.BigEndian.PutUint32(img[4:], 2)
	binary.BigEndian.PutUint32(img[8:], 2)
	binary.BigEndian.PutUint32(img[12:], 2)
	lab := []byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3} // says 3 labels for 2 images
	for _, p := range []string{"train", "t10k"} {
		os.WriteFile(filepath.Join(dir, p+"-images-idx3-ubyte"), img, 0o600)
		os.WriteFile(filepath.Join(dir, p+"-labels-idx1-ubyte"), lab, 0o600)
	}
	if _, err := Load("fashion-mnist", dir); err == nil || !strings.Contains(err.Error(), "labels for 2 images") {
		t.Errorf("label count mismatch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), []byte("not an idx file at all"), 0o600)
	if _, err := Load("fashion-mnist", dir); err == nil || !strings.Contains(err.Error(), "bad magic number") {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := Load("fashion-mnist", t.TempDir()); err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("missing fashion-mnist: %v", err)
	}
	if _, err := Load("imagenet", ""); err == nil || !strings.Contains(err.Error(), "unknown dataset") {
		t.Errorf("unknown dataset: %v", err)
	}
}

func TestFashionMNIST(t *testing.T) {
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Fashion-MNIST not installed at %s (apt-get install dataset-fashion-mnist); skipping", dir)
	}
	d, err := Load("fashion-mnist", "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 60000 || d.Test.N != 10000 {
		t.Fatalf("train %d test %d", d.Train.N, d.Test.N)
	}
}
