// Package boltfile reads a bbolt file's pages itself, without bbolt, so that a damaged
// file can be checked and its readable records recovered without a panic or a fault.
//
// bbolt trusts its file: a zeroed page, a file shorter than its meta says, or a flipped
// byte in a page header makes it panic on an assertion, index out of range, or touch
// memory past the end of its mapping (a fatal signal no recover can catch). This
// package reads pages with ReadAt into buffers it owns, bounds-checks every offset it
// follows, visits each page once (so a corrupt pointer cannot loop), and reports what
// it could not read as Problems instead of stopping.
//
// The format (bbolt 1.4, little-endian): a 16-byte page header (id u64, flags u16,
// count u16, overflow u32); pages 0 and 1 are metas, the valid one with the higher
// txid wins; a meta names the root bucket's page, the freelist page and the high-water
// mark (pages at or above it are unused). Branch elements are (pos u32, ksize u32,
// pgid u64), leaf elements (flags u32, pos u32, ksize u32, vsize u32), with pos counted
// from the element itself. A leaf element with flag 1 is a bucket: its value is (root
// u64, sequence u64) and, when root is 0, an inline page follows.
package boltfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
)

const (
	headerSize   = 16
	elementSize  = 16
	bucketHeader = 16
	metaMagic    = 0xED0CDAED
	metaVersion  = 2
	metaSumBytes = 56 // the meta's bytes before its checksum

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagFreelist = 0x10
	bucketLeaf   = 0x01

	noFreelist = ^uint64(0)
	// maxPageSize bounds the page size a meta may claim (bbolt allows up to 64 KiB
	// in practice; anything larger is a damaged meta).
	maxPageSize = 1 << 20
)

// ErrNotBolt says the file is not a bbolt file at all.
var ErrNotBolt = errors.New("not a bbolt file")

// Meta is the meta page a reader uses.
type Meta struct {
	Page     uint64 // 0 or 1
	PageSize int
	Root     uint64 // the root bucket's page
	Freelist uint64 // the freelist's page, or ^0 when it is not kept
	HWM      uint64 // pages below this are in use or free
	Txid     uint64
}

// File is an open bbolt file, read with ReadAt.
type File struct {
	r      io.ReaderAt
	closer io.Closer
	Meta   Meta
	// MetaProblems says what was wrong with a meta page that was passed over (the
	// other one was used).
	MetaProblems []string
}

// Open reads path's meta pages. It fails when neither is valid, or when the file is
// shorter than the pages its meta records (a truncated file). The file stays open
// until Close.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, errors.New("a directory, not a file")
	}
	bf, err := New(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	bf.closer = f
	return bf, nil
}

// Close closes the file Open opened.
func (bf *File) Close() error {
	if bf.closer == nil {
		return nil
	}
	return bf.closer.Close()
}

// New reads the meta pages of a bbolt file of the given size from r.
func New(r io.ReaderAt, size int64) (*File, error) {
	if size == 0 {
		return nil, fmt.Errorf("%w: the file is empty (0 bytes)", ErrNotBolt)
	}
	bf := &File{r: r}
	m0, err0 := bf.readMeta(0, 0)
	ps := 0
	if err0 == nil {
		ps = m0.PageSize
	}
	var m1 Meta
	err1 := errors.New("not read")
	// The second meta sits one page in; with the first one damaged, try the page
	// sizes bbolt is used with.
	for _, size := range []int{ps, 4096, 8192, 16384, 65536} {
		if size == 0 {
			continue
		}
		if m1, err1 = bf.readMeta(1, size); err1 == nil {
			break
		}
	}
	switch {
	case err0 == nil && err1 == nil:
		bf.Meta = m0
		if m1.Txid > m0.Txid {
			bf.Meta = m1
		}
	case err0 == nil:
		bf.Meta, bf.MetaProblems = m0, []string{"meta page 1: " + err1.Error()}
	case err1 == nil:
		bf.Meta, bf.MetaProblems = m1, []string{"meta page 0: " + err0.Error()}
	default:
		if errors.Is(err0, ErrNotBolt) && errors.Is(err1, ErrNotBolt) {
			return nil, ErrNotBolt
		}
		return nil, fmt.Errorf("both meta pages are damaged (page 0: %v; page 1: %v)", err0, err1)
	}
	m := bf.Meta
	if m.HWM > uint64(size)/uint64(m.PageSize) {
		return nil, fmt.Errorf("truncated: the file is %d bytes, but its meta records %d pages of %d bytes", size, m.HWM, m.PageSize)
	}
	return bf, nil
}

func (bf *File) readMeta(id uint64, pageSize int) (Meta, error) {
	buf := make([]byte, headerSize+64)
	if _, err := bf.r.ReadAt(buf, int64(id)*int64(pageSize)); err != nil {
		return Meta{}, fmt.Errorf("%w: cannot read it (%v)", ErrNotBolt, err)
	}
	le := binary.LittleEndian
	body := buf[headerSize:]
	if le.Uint32(body[0:]) != metaMagic {
		return Meta{}, fmt.Errorf("%w: no bbolt magic number", ErrNotBolt)
	}
	if v := le.Uint32(body[4:]); v != metaVersion {
		return Meta{}, fmt.Errorf("format version %d, not %d", v, metaVersion)
	}
	h := fnv.New64a()
	h.Write(body[:metaSumBytes])
	if h.Sum64() != le.Uint64(body[metaSumBytes:]) {
		return Meta{}, errors.New("checksum mismatch")
	}
	m := Meta{
		Page:     id,
		PageSize: int(le.Uint32(body[8:])),
		Root:     le.Uint64(body[16:]),
		Freelist: le.Uint64(body[32:]),
		HWM:      le.Uint64(body[40:]),
		Txid:     le.Uint64(body[48:]),
	}
	if m.PageSize < 512 || m.PageSize > maxPageSize || m.PageSize&(m.PageSize-1) != 0 {
		return Meta{}, fmt.Errorf("page size %d", m.PageSize)
	}
	if pageSize != 0 && m.PageSize != pageSize {
		return Meta{}, fmt.Errorf("page size %d, but it sits at offset %d", m.PageSize, pageSize)
	}
	if m.HWM < 2 || m.Root < 2 || m.Root >= m.HWM || (m.Freelist != noFreelist && (m.Freelist < 2 || m.Freelist >= m.HWM)) {
		return Meta{}, fmt.Errorf("page numbers out of range (root %d, freelist %d, high-water mark %d)", m.Root, m.Freelist, m.HWM)
	}
	return m, nil
}

// Problem is one thing wrong with the file.
type Problem struct {
	Page uint64 // the page it was found on (0 for the file as a whole)
	What string
	// Bucket is the path of the bucket whose records may be lost with it.
	Bucket [][]byte
}

func (p Problem) String() string {
	s := p.What
	if p.Page != 0 {
		s = fmt.Sprintf("page %d: %s", p.Page, s)
	}
	if len(p.Bucket) > 0 {
		names := make([]string, len(p.Bucket))
		for i, b := range p.Bucket {
			names[i] = bucketName(b)
		}
		s += " (in bucket " + strings.Join(names, "/") + ")"
	}
	return s
}

// bucketName shows a bucket's key: as text when it is printable, as a number when it
// is a big-endian uint64 (bbolt's NextSequence keys), else in hex.
func bucketName(b []byte) string {
	printable := len(b) > 0
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			printable = false
		}
	}
	switch {
	case printable:
		return string(b)
	case len(b) == 8:
		return strconv.FormatUint(binary.BigEndian.Uint64(b), 10)
	}
	return fmt.Sprintf("%x", b)
}

// Visitor receives each key/value pair the walk can read, with the path of buckets
// it lies in. The slices are only valid during the call. bucket is called for each
// bucket found, with its sequence (NextSequence's last value).
type Visitor struct {
	Value  func(path [][]byte, key, value []byte)
	Bucket func(path [][]byte, sequence uint64)
}

// page is one page read into memory, with its overflow pages.
type page struct {
	id    uint64
	flags uint16
	count int
	buf   []byte
}

// readPage reads page id and its overflow; it checks the header names the page.
func (bf *File) readPage(id uint64) (*page, error) {
	ps := int64(bf.Meta.PageSize)
	if id >= bf.Meta.HWM {
		return nil, fmt.Errorf("page number beyond the high-water mark %d", bf.Meta.HWM)
	}
	head := make([]byte, headerSize)
	if _, err := bf.r.ReadAt(head, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("cannot read: %v", err)
	}
	le := binary.LittleEndian
	p := &page{id: le.Uint64(head), flags: le.Uint16(head[8:]), count: int(le.Uint16(head[10:]))}
	overflow := uint64(le.Uint32(head[12:]))
	if p.id != id {
		return nil, fmt.Errorf("the page calls itself page %d (zeroed or overwritten)", p.id)
	}
	if id+overflow >= bf.Meta.HWM {
		return nil, fmt.Errorf("%d overflow pages run past the high-water mark %d", overflow, bf.Meta.HWM)
	}
	p.buf = make([]byte, int64(overflow+1)*ps)
	if _, err := bf.r.ReadAt(p.buf, int64(id)*ps); err != nil {
		return nil, fmt.Errorf("cannot read: %v", err)
	}
	return p, nil
}

// Freelist returns the pages the freelist holds.
func (bf *File) Freelist() ([]uint64, error) {
	if bf.Meta.Freelist == noFreelist {
		return nil, nil
	}
	p, err := bf.readPage(bf.Meta.Freelist)
	if err != nil {
		return nil, fmt.Errorf("freelist page %d: %v", bf.Meta.Freelist, err)
	}
	if p.flags != flagFreelist {
		return nil, fmt.Errorf("freelist page %d: flags %#x, not a freelist page", p.id, p.flags)
	}
	body, n, start := p.buf[headerSize:], uint64(p.count), uint64(0)
	if n == 0xFFFF {
		if len(body) < 8 {
			return nil, fmt.Errorf("freelist page %d: too short for its count", p.id)
		}
		n, start = binary.LittleEndian.Uint64(body), 1
	}
	// Compared before any multiplication: a damaged count can be any 64-bit value.
	if n > uint64(len(body)/8)-start {
		return nil, fmt.Errorf("freelist page %d: %d entries do not fit in the page", p.id, n)
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(body[(start+uint64(i))*8:])
		if ids[i] < 2 || ids[i] >= bf.Meta.HWM {
			return nil, fmt.Errorf("freelist page %d: entry %d is page %d, outside 2..%d", p.id, i, ids[i], bf.Meta.HWM-1)
		}
	}
	return ids, nil
}

// Walk reads the whole tree from the meta's root bucket, calling v for what it can
// read and returning every problem found: pages that cannot be read or parsed, keys
// out of order, pages referenced twice, reachable pages on the freelist, and pages
// that are neither reachable nor free. A damaged page loses its subtree; the walk
// goes on with the rest.
func (bf *File) Walk(v Visitor) []Problem {
	w := &walker{bf: bf, v: v, seen: make([]bool, bf.Meta.HWM)}
	w.seen[0], w.seen[1] = true, true
	for _, m := range bf.MetaProblems {
		w.problems = append(w.problems, Problem{What: m})
	}
	free, err := bf.Freelist()
	if err != nil {
		w.problem(0, nil, "%v", err)
	} else if bf.Meta.Freelist != noFreelist {
		p, _ := bf.readPage(bf.Meta.Freelist)
		w.mark(p, nil)
	}
	freed := make([]bool, bf.Meta.HWM)
	for _, id := range free {
		if freed[id] {
			w.problem(id, nil, "freed twice")
		}
		freed[id] = true
	}
	w.bucket(bf.Meta.Root, nil)
	for id := uint64(2); id < bf.Meta.HWM; id++ {
		switch {
		case w.seen[id] && freed[id] && err == nil:
			w.problem(id, nil, "in use and on the freelist")
		case !w.seen[id] && !freed[id] && err == nil:
			w.problem(id, nil, "neither in use nor free")
		}
	}
	return w.problems
}

type walker struct {
	bf       *File
	v        Visitor
	seen     []bool
	problems []Problem
}

func (w *walker) problem(id uint64, path [][]byte, format string, args ...any) {
	w.problems = append(w.problems, Problem{Page: id, What: fmt.Sprintf(format, args...), Bucket: clonePath(path)})
}

func clonePath(path [][]byte) [][]byte {
	out := make([][]byte, len(path))
	for i, p := range path {
		out[i] = bytes.Clone(p)
	}
	return out
}

// mark records that p and its overflow pages are in use; false when one already was.
func (w *walker) mark(p *page, path [][]byte) bool {
	n := uint64(len(p.buf) / w.bf.Meta.PageSize)
	for i := uint64(0); i < n; i++ {
		if w.seen[p.id+i] {
			w.problem(p.id+i, path, "referenced twice")
			return false
		}
	}
	for i := uint64(0); i < n; i++ {
		w.seen[p.id+i] = true
	}
	return true
}

// bucket walks the bucket whose root is page root.
func (w *walker) bucket(root uint64, path [][]byte) {
	w.node(root, path, nil, nil)
}

// node walks page id of the bucket at path; its keys must lie in [lo, hi).
func (w *walker) node(id uint64, path [][]byte, lo, hi []byte) {
	if id < 2 || id >= w.bf.Meta.HWM {
		w.problem(id, path, "page number outside 2..%d", w.bf.Meta.HWM-1)
		return
	}
	if w.seen[id] {
		w.problem(id, path, "referenced twice")
		return
	}
	p, err := w.bf.readPage(id)
	if err != nil {
		w.seen[id] = true
		w.problem(id, path, "%v", err)
		return
	}
	if !w.mark(p, path) {
		return
	}
	w.elements(p, path, lo, hi)
}

// elements reads the elements of p (a page of the file or an inline bucket's page).
func (w *walker) elements(p *page, path [][]byte, lo, hi []byte) {
	if p.flags != flagBranch && p.flags != flagLeaf {
		w.problem(p.id, path, "flags %#x: neither a branch nor a leaf page", p.flags)
		return
	}
	if headerSize+p.count*elementSize > len(p.buf) {
		w.problem(p.id, path, "%d elements do not fit in the page", p.count)
		return
	}
	le := binary.LittleEndian
	prev := lo
	for i := 0; i < p.count; i++ {
		at := headerSize + i*elementSize
		e := p.buf[at : at+elementSize]
		var key, val []byte
		var flags uint32
		var child uint64
		if p.flags == flagBranch {
			pos, ksize := uint64(le.Uint32(e)), uint64(le.Uint32(e[4:]))
			child = le.Uint64(e[8:])
			if uint64(at)+pos+ksize > uint64(len(p.buf)) {
				w.problem(p.id, path, "element %d: key runs past the page", i)
				return
			}
			key = p.buf[uint64(at)+pos : uint64(at)+pos+ksize]
		} else {
			flags = le.Uint32(e)
			pos, ksize, vsize := uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
			if uint64(at)+pos+ksize+vsize > uint64(len(p.buf)) {
				w.problem(p.id, path, "element %d: key or value runs past the page", i)
				return
			}
			key = p.buf[uint64(at)+pos : uint64(at)+pos+ksize]
			val = p.buf[uint64(at)+pos+ksize : uint64(at)+pos+ksize+vsize]
		}
		if (prev != nil && (bytes.Compare(key, prev) < 0 || (i > 0 && bytes.Equal(key, prev)))) || (hi != nil && bytes.Compare(key, hi) >= 0) {
			w.problem(p.id, path, "element %d: key %x out of order", i, key)
			return
		}
		prev = key
		if p.flags == flagBranch {
			next := hi
			if i+1 < p.count {
				ne := p.buf[at+elementSize:]
				npos, nksize := uint64(le.Uint32(ne)), uint64(le.Uint32(ne[4:]))
				if s := uint64(at+elementSize) + npos; s+nksize <= uint64(len(p.buf)) {
					next = p.buf[s : s+nksize]
				}
			}
			w.node(child, path, key, next)
			continue
		}
		if flags&bucketLeaf == 0 {
			if w.v.Value != nil {
				w.v.Value(path, key, val)
			}
			continue
		}
		w.subBucket(p.id, path, key, val)
	}
}

// subBucket follows a bucket element: an inline bucket's page is in its value.
func (w *walker) subBucket(id uint64, path [][]byte, name, val []byte) {
	if len(val) < bucketHeader {
		w.problem(id, path, "bucket %q: header too short", name)
		return
	}
	root, seq := binary.LittleEndian.Uint64(val), binary.LittleEndian.Uint64(val[8:])
	sub := append(clonePath(path), bytes.Clone(name))
	if w.v.Bucket != nil {
		w.v.Bucket(sub, seq)
	}
	if root != 0 {
		w.bucket(root, sub)
		return
	}
	inline := val[bucketHeader:]
	if len(inline) < headerSize {
		w.problem(id, sub, "inline bucket: page too short")
		return
	}
	le := binary.LittleEndian
	p := &page{id: id, flags: le.Uint16(inline[8:]), count: int(le.Uint16(inline[10:])), buf: inline}
	if p.flags != flagLeaf {
		w.problem(id, sub, "inline bucket: flags %#x, not a leaf", p.flags)
		return
	}
	w.elements(p, sub, nil, nil)
}

// SetPageID writes id into a page's header: a meta page copied to the other meta's
// place must name its own page (a snapshot pins both metas to one commit).
func SetPageID(page []byte, id uint64) { binary.LittleEndian.PutUint64(page, id) }
