package shard

import (
	"math/bits"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/ufocache/ufocache/fifo"
)

// The index is an open-addressing hash table of entry pointers, read
// without locks and written under the shard lock. Slots come in groups of
// seven plus one control word (64 bytes, one cache line, if the table is
// aligned to one: Go puts an 8-byte header before a table of 9 to 511
// groups, and a seventh slot of those then shares the next group's line;
// allocating them 64-byte aligned moved the Get and Mix benchmarks by
// less than their noise, ±5-15% between runs): control byte i
// says whether slot i is empty (0), deleted (1) or full (0x80 | a 7-bit
// tag of the hash). A reader loads the control word, compares all seven
// tags at once (SWAR) and dereferences only the matching slots, so a
// lookup touches one line of index and the entry itself.
//
// Writers publish a slot pointer before the control byte that advertises
// it, and retract the control byte before clearing the pointer, so a
// reader that sees a tag finds either that entry, nil, or (after reuse) an
// entry with another key; it compares the full key, so it is never fooled.
// Growing builds a new table and swaps the pointer: readers finish on the
// old table, which still holds every entry it held.
const groupSlots = 7

type group[K comparable, V any] struct {
	ctrl  atomic.Uint64
	slots [groupSlots]atomic.Pointer[fifo.Entry[K, V]]
}

type table[K comparable, V any] struct {
	groups []group[K, V]
	n      uint64 // len(groups)
}

const (
	lsb     = 0x0001010101010101 // the seven control bytes' low bits
	msb     = 0x0080808080808080 // and high bits
	ctrlDel = 1
	// maxLoad: live + deleted slots, as a share of all slots, before a
	// rehash. A full bounded shard (live at 0.8) churns its way to it
	// before each same-size rehash: a miss then probes 2.6 groups after a
	// rehash, 5 on average and 8 at worst. 0.85 (3.5 on average) moved
	// BenchmarkMix at 0-75% reads by under 5%, within its noise.
	maxLoad  = 0.9
	growLoad = 0.8 // live slots above which a rehash doubles the table
)

// matchByte returns a mask with the high bit set in each control byte equal
// to b. Only the lowest match is exact (a borrow can fake one above it);
// callers verify every candidate.
func matchByte(ctrl uint64, b uint8) uint64 {
	x := ctrl ^ (lsb * uint64(b))
	return (x - lsb) &^ x & msb
}

func tagOf(h uint64) uint8 { return uint8(h>>32) | 0x80 }

// home maps the low 32 bits of h onto [0, n) without a division.
func home(h, n uint64) uint64 { return (h & 0xffffffff) * n >> 32 }

func newTable[K comparable, V any](slots int) *table[K, V] {
	n := max(1, (slots+groupSlots-1)/groupSlots)
	return &table[K, V]{groups: make([]group[K, V], n), n: uint64(n)}
}

// locate returns the group and slot that hold e, found by its hash h. If
// the probe misses it (a Hasher that is not a function of the key), every
// slot is searched, so a bad Hasher costs time but never hangs or corrupts
// the index; if e is not there at all, grp is nil.
func (t *table[K, V]) locate(e *fifo.Entry[K, V], h uint64) (grp *group[K, V], slot int) {
	tag := tagOf(h)
	for g, probed := home(h, t.n), uint64(0); probed < t.n; probed++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		for m := matchByte(ctrl, tag); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			if grp.slots[i].Load() == e {
				return grp, int(i)
			}
		}
		if matchByte(ctrl, 0) != 0 {
			break
		}
		if g++; g == t.n {
			g = 0
		}
	}
	for g := range t.groups {
		for i := range t.groups[g].slots {
			if t.groups[g].slots[i].Load() == e {
				return &t.groups[g], i
			}
		}
	}
	return nil, 0
}

// insert puts e, whose key is absent, in the first free slot of its probe
// sequence and reports whether that slot was a deleted one.
func (t *table[K, V]) insert(e *fifo.Entry[K, V], h uint64) (reused bool) {
	for g := home(h, t.n); ; {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		if free := ^ctrl & msb; free != 0 {
			i := bits.TrailingZeros64(free) >> 3
			sh := uint(i) * 8
			reused = (ctrl>>sh)&0xff == ctrlDel
			grp.slots[i].Store(e) // the pointer before the tag that advertises it
			grp.ctrl.Store(ctrl&^(0xff<<sh) | uint64(tagOf(h))<<sh)
			return reused
		}
		if g++; g == t.n {
			g = 0
		}
	}
}

// indexHead has the layout of index's fields before its padding (their
// sizes do not depend on K and V), and indexPad the bytes that end their
// line, taking lines of at least 64 bytes (x/sys says 32 on arm and mips
// and 0 on wasm): 24 after the 40 bytes of a 64-bit platform, 44 after the
// 20 of a 32-bit one. It was CacheLinePad's size less 40, which did not
// compile where that size is under 40.
type indexHead struct {
	t                         unsafe.Pointer
	minSlot, maxSlot, maxLive int
	hash                      func()
}

const (
	indexLine = max(unsafe.Sizeof(cpu.CacheLinePad{}), 64)
	indexPad  = (indexLine - unsafe.Sizeof(indexHead{})%indexLine) % indexLine
)

// index is a shard's table with its occupancy counts.
type index[K comparable, V any] struct {
	// t is read by every Get. The fields sharing its cache line change
	// only in init; the padding keeps the counters, written by Sets, off
	// that line.
	t       atomic.Pointer[table[K, V]]
	minSlot int // the table never shrinks below this many slots
	maxSlot int // nor grows above it (0: no limit)
	maxLive int // the entry bound init was given
	hash    func(K) uint64
	_       [indexPad]byte
	live    int // entries
	deleted int // deleted control bytes
}

// startSlots is the size of an empty table. Tables grow by doubling, up
// to what the entry bound needs, rather than being presized for it: a cache
// holding fewer keys than its bound keeps a denser index, which is what
// keeps a hot working set in the CPU's caches.
const startSlots = 8 * groupSlots

// init empties the index. With maxEntries > 0 the table is never grown
// beyond what that many entries need.
func (x *index[K, V]) init(maxEntries int) {
	x.maxLive, x.maxSlot = maxEntries, 0
	if maxEntries > 0 {
		x.maxSlot = int(float64(maxEntries)/growLoad) + 1
	}
	x.minSlot = startSlots // unbounded (a weighted shard)
	if x.maxSlot > 0 {
		x.minSlot = min(max(x.maxSlot, groupSlots), startSlots)
	}
	x.t.Store(newTable[K, V](x.minSlot))
	x.live, x.deleted = 0, 0
}

func (x *index[K, V]) add(e *fifo.Entry[K, V], h uint64) {
	t := x.t.Load()
	slots := int(t.n) * groupSlots
	if float64(x.live+x.deleted+1) > maxLoad*float64(slots) {
		if float64(x.live+1) > growLoad*float64(slots) {
			// Capped even at the cap: an insert into a full unit shard
			// holds one entry above the bound until its eviction, which
			// can pass growLoad of a table at maxSlot; the table is then
			// rebuilt at the same size, which still leaves room to spare
			// (maxSlot is above maxEntries/growLoad).
			if slots *= 2; x.maxSlot > 0 {
				slots = min(slots, x.maxSlot)
			}
		}
		t = x.rehash(slots)
	}
	if t.insert(e, h) {
		x.deleted--
	}
	x.live++
}

// replace swaps old for e (same key) in place.
func (x *index[K, V]) replace(old, e *fifo.Entry[K, V], h uint64) {
	if grp, i := x.t.Load().locate(old, h); grp != nil {
		grp.slots[i].Store(e)
	}
}

// remove takes e out. Its slot becomes empty if its group has an empty
// slot (no probe sequence runs through such a group), else deleted.
func (x *index[K, V]) remove(e *fifo.Entry[K, V], h uint64) {
	grp, i := x.t.Load().locate(e, h)
	if grp == nil {
		return
	}
	ctrl := grp.ctrl.Load()
	var mark uint64
	if matchByte(ctrl, 0) == 0 {
		mark = ctrlDel
		x.deleted++
	}
	sh := uint(i) * 8
	grp.ctrl.Store(ctrl&^(0xff<<sh) | mark<<sh) // retract the tag first
	grp.slots[i].Store(nil)
	x.live--
}

func (x *index[K, V]) rehash(slots int) *table[K, V] {
	old := x.t.Load()
	t := newTable[K, V](max(slots, x.minSlot))
	for g := range old.groups {
		for i := range old.groups[g].slots {
			if e := old.groups[g].slots[i].Load(); e != nil {
				t.insert(e, x.hash(e.Key))
			}
		}
	}
	x.deleted = 0
	x.t.Store(t)
	return t
}

// each calls f for every entry of the current table, without a lock.
func (x *index[K, V]) each(f func(*fifo.Entry[K, V])) {
	t := x.t.Load()
	for g := range t.groups {
		grp := &t.groups[g]
		for m := grp.ctrl.Load() & msb; m != 0; m &= m - 1 {
			if e := grp.slots[bits.TrailingZeros64(m)>>3].Load(); e != nil {
				f(e)
			}
		}
	}
}
