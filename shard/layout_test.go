package shard

import (
	"testing"
	"unsafe"

	"github.com/ufocache/ufocache/sketch"
)

var sink []Shard[string, []byte]

// TestLayout pins the cache-line layout that Shard's comment promises, for
// an array of shards starting on a line or 8 bytes into one: the table
// pointer on a line no Set writes, and the fields every Set or insert
// writes packed into the three lines after it (the evictions count, which
// only inserts into a full shard write, is not among them).
func TestLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is pinned for 64-bit machines; words and pointers are half the size here")
	}
	const line = 64
	offsets := []uintptr{0, 8}
	for n := 1; n <= 1<<10; n *= 2 { // Cache allocates a power of two
		sink = make([]Shard[string, []byte], n) // on the heap, as in Cache
		if a := uintptr(unsafe.Pointer(&sink[0])) % line; a != offsets[0] && a != offsets[1] {
			t.Fatalf("an array of %d shards starts %d bytes into a cache line", n, a)
		}
	}
	var s Shard[uint64, uint64]
	if sz := unsafe.Sizeof(s); sz%line != 0 {
		t.Fatalf("Shard is %d bytes, not a whole number of lines", sz)
	}
	base := uintptr(unsafe.Pointer(&s))
	type field struct {
		name string
		at   uintptr
		size uintptr
		lo   uintptr // the lines, numbered within the shard, it may touch
		hi   uintptr
	}
	f := func(name string, p unsafe.Pointer, size uintptr, line uintptr) field {
		return field{name, uintptr(p) - base, size, line, line}
	}
	fields := []field{
		f("idx.t", unsafe.Pointer(&s.idx.t), 8, 1),
		f("idx.live", unsafe.Pointer(&s.idx.live), 8, 2),
		f("idx.removed", unsafe.Pointer(&s.idx.removed), 8, 2),
		f("mu", unsafe.Pointer(&s.mu), unsafe.Sizeof(s.mu), 2),
		// The sketch's counters come before its table and growth pointer.
		f("sketch counters", unsafe.Pointer(&s.sketch), unsafe.Sizeof(sketch.Sketch{})-unsafe.Sizeof([]uint64{})-unsafe.Sizeof(uintptr(0)), 2),
		f("length", unsafe.Pointer(&s.length), 8, 3),
		f("weight", unsafe.Pointer(&s.weight), 8, 3),
		f("sets", unsafe.Pointer(&s.sets), 8, 2),
		f("small queue", unsafe.Pointer(s.policy.Small()), unsafe.Sizeof(*s.policy.Small()), 3),
		// Written by inserts only, which write lines 2 and 3 anyway; the
		// policy's entry count, small share and read share follow main
		// (fifo.TestHotFieldsTogether).
		{"main queue, count, shares", uintptr(unsafe.Pointer(s.policy.Main())) - base, unsafe.Sizeof(*s.policy.Main()) + 24, 3, 4},
	}
	for _, fd := range fields {
		for _, o := range offsets {
			first, last := (fd.at+o)/line, (fd.at+fd.size-1+o)/line
			if first < fd.lo || last > fd.hi {
				t.Errorf("%s at offset %d (+%d): lines %d to %d, want %d to %d", fd.name, fd.at, o, first, last, fd.lo, fd.hi)
			}
		}
	}
}
