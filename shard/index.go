package shard

import (
	"math"
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
// less than their noise, ±5-15% between runs): control byte i (of the
// word's low seven) says whether slot i is empty (0) or full (0x80 | a
// 7-bit tag of the hash). A reader loads the control word, compares all
// seven tags at once (SWAR) and dereferences only the matching slots, so a
// lookup touches one line of index and the entry itself.
//
// The word's top byte counts the entries whose probe passed the group
// because it was full (F14's outbound overflow counts), in four 2-bit
// counts, one per bin of keys (two bits of the hash that neither the
// home, the tag nor the shard uses), each saturating at 3: a lookup ends
// at the first group whose count for its key's bin is 0, and a removal
// empties its slot and takes one off its bin's count in each group its
// entry passed. No slot is ever marked deleted. In a full shard churned by
// inserts (at a load of 0.8; see growLoad), a miss probes 1.5-1.7 groups
// on average with the four counts, 2.0-2.8 with one 8-bit count (a 1-bit
// mark per bin of eight, never cleared until a rebuild, saturates: 2.5-3.2;
// two 4-bit counts: 1.8-2.1),
// and with tombstones (a removed entry's slot marked deleted unless its
// group had an empty one, and a lookup ending at a group with an empty
// slot) it probed 7.2 (see rebuildTimes). A miss then reads fewer lines
// and mispredicts fewer branches: Gets of absent keys in a full cache of
// 65,536 entries (BenchmarkGetMiss) went from 0.47x to 0.64x xsync.MapOf.
//
// Writers publish a slot pointer before the control byte that advertises
// it, and retract the control byte before clearing the pointer, so a
// reader that sees a tag finds either that entry, nil, or (after reuse) an
// entry with another key; it compares the full key, so it is never fooled.
// An insert raises the counts it passes before it publishes its entry, and
// a removal lowers them after it retracts its own, so a reader never
// stops short of an entry that was there throughout its lookup.
// Growing, and the rebuild at the same size that churn calls for
// (rebuildTimes), fill a new table a few groups per write, out of the
// readers' sight, and swap the pointer (rebuildStep): readers finish on
// the old table, which still holds every entry it held.
const groupSlots = 7

type group[K comparable, V any] struct {
	ctrl  atomic.Uint64
	slots [groupSlots]atomic.Pointer[fifo.Entry[K, V]]
}

type table[K comparable, V any] struct {
	groups []group[K, V]
	n      uint64 // len(groups)
	// due holds, per group, the earliest expiry among its entries, in
	// ticks of 2^dueShift ns (math.MaxUint32: none), or earlier once
	// entries left (removals do not raise it): the expiry sweep visits
	// only the groups whose tick has come. Written and read under the
	// shard lock, never by readers; nil until the table holds an entry
	// with an expiry (then 4 bytes per group of 7 slots), so a cache
	// without TTLs pays nothing.
	due []uint32
	// next is the table a rebuild (at this size, or twice it up to
	// maxSlot) is filling with this one's entries (nil: none; see
	// rebuildStep), copied the number of the previous table's groups a
	// table being filled holds the entries of. Written under the shard
	// lock and never read by readers: next at the rebuild's start and end
	// (and at init), copied only before the table is published. A shard
	// that stops taking writes mid-rebuild holds both tables until
	// t.n/rebuildGroups more adds and removals come.
	next   *table[K, V]
	copied uint64
}

// dueShift: due's ticks are 2^30 ns, about 1.07 s.
const dueShift = 30

// dueTick is the tick of expire (> 0), in due's units; a time beyond
// them is the last tick but one (math.MaxUint32 means none).
func dueTick(expire int64) uint32 {
	return uint32(min(expire>>dueShift, math.MaxUint32-1))
}

// expires notes e, just placed in group g, in due; e has an expiry.
func (t *table[K, V]) expires(g uint64, e *fifo.Entry[K, V]) {
	if t.due == nil {
		t.due = make([]uint32, t.n)
		for i := range t.due {
			t.due[i] = math.MaxUint32
		}
	}
	t.due[g] = min(t.due[g], dueTick(e.Expire))
}

// groupOf returns the index of grp, one of t's groups.
func (t *table[K, V]) groupOf(grp *group[K, V]) uint64 {
	return uint64((uintptr(unsafe.Pointer(grp)) - uintptr(unsafe.Pointer(&t.groups[0]))) / unsafe.Sizeof(*grp))
}

const (
	lsb      = 0x0001010101010101 // the seven control bytes' low bits
	msb      = 0x0080808080808080 // and high bits
	ovfShift = 56                 // the overflow counts' byte
	binBits  = 2                  // bits per count: 8/binBits bins
	ovfMax   = 1<<binBits - 1     // saturated: never lowered again (until a rebuild)
	// growLoad: the share of live slots above which an add starts
	// doubling the table (a unit shard's stops at its bound over
	// growLoad; see rebuildStep). At 0.65 rather than 0.8
	// the index costs about 14 bytes per entry instead of 11.4 (perf's
	// memory suite: 67 B per uint64 entry at 1M entries instead of 65, 72
	// instead of 69 at 100k), and a hit reads fewer groups: memory-bound
	// reads after perf's coldest-first prefill went from 0.67x of
	// xsync.MapOf to 0.85-0.89x (perf throughput suite, two runs each;
	// 0.7 gave 0.74-0.81x), BenchmarkGetInsertOrder's coldest-first
	// groups per hit from 1.75-2.97 to 1.16-1.39. The other probe and
	// churn figures in this file, and TestMissProbesStayShort's history,
	// were taken at 0.8.
	growLoad = 0.65
	// rebuildTimes: an add starts a rebuild of the table at its size once
	// removals since the last rebuild or doubling started pass
	// rebuildTimes its slots. Entries stay where they were placed, and as
	// churn empties slots nearer their homes the clusters of overflowing
	// groups lengthen: in a full shard of 4096 entries (5124 slots)
	// churned by 196k inserts, a miss probed 24 groups on average (111 at
	// worst) with no rebuild, and 2.03-2.09 with one every 0.1 to 3.2
	// times the slots' worth of removals (34 at worst), against 7.2 (51)
	// with tombstones, rehashed when live and deleted slots passed 0.9 of
	// the table (TestMissProbesStayShort). Recomputing saturated overflow
	// counts instead, a group per removal, got 1.36 groups per miss
	// against 1.45 with neither and 1.08 with rebuilds (at growLoad 0.65,
	// 400k inserts; a scratch test, 2026-12-05): the displaced entries,
	// not the counts, lengthen the probes.
	rebuildTimes = 2
)

// overflow returns a control word's overflow count for the bin of keys
// hashing to h.
func overflow(ctrl, h uint64) uint64 { return ctrl >> binShift(h) & ovfMax }

// binShift returns the shift of the overflow count, in a control word, of
// the bin of keys hashing to h: bits 40-41 of h (the home takes the low 32,
// the tag bits 32-38, the shard the top 16 at most).
func binShift(h uint64) uint { return ovfShift + uint(h>>40)%(8/binBits)*binBits }

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
// the index, and probed is false; if e is not there at all, grp is nil.
func (t *table[K, V]) locate(e *fifo.Entry[K, V], h uint64) (grp *group[K, V], slot int, probed bool) {
	tag := tagOf(h)
	for g, probed := home(h, t.n), uint64(0); probed < t.n; probed++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		for m := matchByte(ctrl, tag); m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			if grp.slots[i].Load() == e {
				return grp, int(i), true
			}
		}
		if overflow(ctrl, h) == 0 {
			break
		}
		if g++; g == t.n {
			g = 0
		}
	}
	for g := range t.groups {
		for i := range t.groups[g].slots {
			if t.groups[g].slots[i].Load() == e {
				return &t.groups[g], i, false
			}
		}
	}
	return nil, 0, false
}

// insert puts e, whose key is absent, in the first free slot of its probe
// sequence, counting itself in the overflow of each full group it passes,
// and returns the index of the group it put e in.
func (t *table[K, V]) insert(e *fifo.Entry[K, V], h uint64) uint64 {
	for g := home(h, t.n); ; {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		if free := ^ctrl & msb; free != 0 {
			i := bits.TrailingZeros64(free) >> 3
			sh := uint(i) * 8
			grp.slots[i].Store(e) // the pointer before the tag that advertises it
			grp.ctrl.Store(ctrl&^(0xff<<sh) | uint64(tagOf(h))<<sh)
			if e.Expire != 0 {
				t.expires(g, e)
			}
			return g
		}
		if overflow(ctrl, h) < ovfMax {
			grp.ctrl.Store(ctrl + 1<<binShift(h))
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
	_    unsafe.Pointer // t
	_, _ int            // minSlot, maxSlot
	_    func()         // hash
	_    *struct{}      // ahead
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
	hash    func(K) uint64
	// ahead is the table of a doubling that a goroutine allocates (see
	// grown); nil: none asked for. Written once a doubling, under the
	// shard lock. A table that arrived waits in it until the doubling
	// takes it: if removals bring the load back under growLoad first, it
	// waits until the load reaches it again (one table of twice the
	// current size at most, which Clear drops).
	ahead   *aheadTable[K, V]
	_       [indexPad]byte
	live    int // entries
	removed int // since the last rebuild or doubling started
}

// startSlots is the size of an empty table. Tables grow by doubling, up
// to what the entry bound needs, rather than being presized for it: a cache
// holding fewer keys than its bound keeps a denser index, which is what
// keeps a hot working set in the CPU's caches.
const startSlots = 8 * groupSlots

// init empties the index. With maxEntries > 0 the table is never grown
// beyond what that many entries need. It starts with room for expect
// entries (within maxEntries), so that it doubles only past them.
func (x *index[K, V]) init(maxEntries, expect int) {
	x.maxSlot = 0
	if maxEntries > 0 {
		x.maxSlot = int(float64(maxEntries)/growLoad) + 1
	}
	x.minSlot = max(startSlots, int(float64(expect)/growLoad)+1) // unbounded (a weighted shard)
	if x.maxSlot > 0 {
		x.minSlot = min(max(x.maxSlot, groupSlots), x.minSlot)
	}
	x.reset(newTable[K, V](x.minSlot))
}

// bound sets the index's entry bound anew, as init does (0: none), for a
// shard whose capacity changed; live must be within it. most is the most
// entries the shard can hold now (0: too many to say): every entry weighs
// at least 1, so a weighted shard's capacity bounds them too, and the
// least table (Clear's, an InitialCapacity hint's) needs no more room
// than that. A table with more than twice the slots it needs (the
// bound's, or with none, room for twice the live entries) is then rebuilt
// at that size at once, after any rebuild or doubling under way: under
// the shard's lock, by a Resize, which rehashes every entry once, with
// readers on the old table until the swap.
func (x *index[K, V]) bound(maxEntries, most int) {
	x.maxSlot = 0
	if maxEntries > 0 {
		x.maxSlot = int(float64(maxEntries)/growLoad) + 1
	}
	if most > 0 {
		x.minSlot = min(max(int(float64(most)/growLoad)+1, groupSlots), x.minSlot)
	}
	x.ahead = nil // sized for the old bound, if any (its goroutine ends on its own)
	if t := x.t.Load(); t.next != nil {
		for x.t.Load() == t {
			x.rebuildStep(t)
		}
	}
	need := x.maxSlot
	if need == 0 {
		need = max(x.minSlot, int(2*float64(x.live)/growLoad)+1)
	}
	t := x.t.Load()
	if int(t.n)*groupSlots <= 2*need {
		return
	}
	t.next, x.removed = newTable[K, V](need), 0
	for x.t.Load() == t {
		x.rebuildStep(t)
	}
}

// reset empties the index into t, a table of minSlot slots: Clear
// allocates it before it takes the shard's lock, since with a hint of
// the entries to expect it may be large. minSlot changes only in init
// and bound.
func (x *index[K, V]) reset(t *table[K, V]) {
	if old := x.t.Load(); old != nil {
		old.next = nil // a rebuild under way is dropped (see rebuildStep's swap)
	}
	x.ahead = nil // and a table on its way (its goroutine ends on its own)
	x.t.Store(t)
	x.live, x.removed = 0, 0
}

func (x *index[K, V]) add(e *fifo.Entry[K, V], h uint64) {
	t := x.t.Load()
	slots := int(t.n) * groupSlots
	if (t.next == nil || t.next.n == t.n) && float64(x.live+1) > growLoad*float64(slots) && (x.maxSlot == 0 || slots < x.maxSlot) {
		// Capped at maxSlot: an insert into a full unit shard holds one
		// entry above the bound until its eviction, which can pass
		// growLoad of a table at maxSlot, and maxSlot is above
		// maxEntries/growLoad, so a free slot is always left. The
		// doubling takes over from a rebuild at the same size.
		must := float64(x.live+1) > hardLoad*float64(slots)
		if slots *= 2; x.maxSlot > 0 {
			slots = min(slots, x.maxSlot)
		}
		if next := x.grown(slots, must); next != nil {
			t.next, x.removed = next, 0
		}
	} else if t.next == nil && x.removed > rebuildTimes*slots {
		t.next, x.removed = newTable[K, V](slots), 0 // see rebuildTimes
	}
	g := t.insert(e, h)
	x.live++
	if t.next != nil {
		if g < t.next.copied {
			t.next.insert(e, h)
		}
		x.rebuildStep(t)
	}
}

// rebuildStep copies the next rebuildGroups of t's groups into the table
// a rebuild is filling, and once it has them all, makes it the index's
// table. The rebuild is spread over the adds and removals, so that an add
// or removal hashes at most rebuildGroups groups' keys for it: the rebuild
// at once held the shard's lock while it rehashed every key.
// BenchmarkSetTail (-benchtime 4194304x; 32 shards at GOMAXPROCS 2),
// before and after, two runs each: the 99.999th percentile of Sets of new
// keys into a full cache of 1M entries went from 3.5-4.4 ms to 0.33-1.03
// ms, filling an empty cache of 4M from 7.1-8.3 ms to 0.42-0.44 ms. One
// shard filled to 1M entries: slowest Set 107 ms, then 7-12 ms, where the
// sketch doubled (sketch.Grow copied it at once until it too was spread
// over the writes). Until the swap, readers
// use t, which still holds every entry, and writes go to both tables for
// an entry of a group already copied; t changes only by those writes, so
// the copy stays true. Both tables are held for the rebuild's
// t.n/rebuildGroups adds and removals: in a full shard churned by
// inserts, a 224th of the time at rebuildTimes 2. While a doubling is
// under way, t takes up to that many adds more: its load reaches growLoad
// plus a 56th at most, or hardLoad plus a 56th where the new table was
// allocated off the Set path (see grown).
func (x *index[K, V]) rebuildStep(t *table[K, V]) {
	next := t.next
	for range rebuildGroups {
		grp := &t.groups[next.copied]
		for m := grp.ctrl.Load() & msb; m != 0; m &= m - 1 {
			if e := grp.slots[bits.TrailingZeros64(m)>>3].Load(); e != nil {
				next.insert(e, x.hash(e.Key))
			}
		}
		if next.copied++; next.copied == t.n {
			x.t.Store(next)
			t.next = nil // a reader or scan still on t must not keep next's successors
			return
		}
	}
}

// grown returns a table of slots slots for a doubling: made at once if it
// is under aheadBytes; a larger one is allocated by a goroutine, started
// at the first call, and grown returns nil until it is there, unless
// must, when it makes the table itself if the goroutine has not delivered
// it yet. make of a large table faults its memory in (zeroing memory the
// heap reuses): filling a weighted cache of 4M entries, two shards on two
// cores, the Set whose add made the 32 MiB table of a shard's last
// doubling took 145-185 ms there, with the shard's lock held
// (BenchmarkSetTail/weighted: slowest Set 173-262 ms). The adds go on
// into the current table meanwhile, up to hardLoad of it.
//
// The goroutine hands the table over through an atomic pointer, not a
// channel that the index keeps: a cache made outside a testing/synctest
// bubble may be used in several, and a receive from a channel made in
// another bubble ends the process
// (TestCacheMadeOutsideABubbleGrowsAcrossBubbles).
func (x *index[K, V]) grown(slots int, must bool) *table[K, V] {
	groups := (slots + groupSlots - 1) / groupSlots
	if uintptr(groups)*unsafe.Sizeof(group[K, V]{}) < aheadBytes {
		return newTable[K, V](slots)
	}
	if x.ahead != nil && x.ahead.slots != slots {
		x.ahead = nil // for another size (its goroutine ends on its own)
	}
	if x.ahead == nil {
		if must {
			return newTable[K, V](slots) // no goroutine to start only to outrun it
		}
		a := &aheadTable[K, V]{slots: slots}
		startAhead(func() { a.t.Store(newTable[K, V](slots)) })
		x.ahead = a
	}
	next := x.ahead.t.Load()
	if next == nil {
		if !must {
			return nil
		}
		// Past hardLoad before the goroutine delivered (a starved P):
		// make it here; the goroutine's table is left to the collector.
		next = newTable[K, V](slots)
	}
	x.ahead = nil
	return next
}

// aheadTable is a table of slots slots on its way from the goroutine that
// allocates it (see grown).
type aheadTable[K comparable, V any] struct {
	slots int
	t     atomic.Pointer[table[K, V]] // stored once, by the goroutine
}

// startAhead runs f, the allocation of a table, on a goroutine of its
// own; a test runs it when it chooses.
var startAhead = func(f func()) { go f() }

const (
	// aheadBytes: tables of this size or more are allocated off the Set
	// path (see grown); smaller ones take under a millisecond to make.
	aheadBytes = 1 << 20
	// hardLoad is the load up to which a table takes adds while its
	// successor is being allocated: at 0.8 a miss probed 1.5-1.7 groups
	// (see the top of this file), and from growLoad (0.65) to it is 0.15
	// of its slots in adds, 350,000 for the 32 MiB table above.
	hardLoad = 0.8
)

// rebuildGroups is the groups a rebuild copies per add or removal. At 1
// the doubling of a small table still ran when a cache had just filled,
// holding both tables (perf's memory suite: 95 B per entry at 10k entries
// against 81 with the rebuild at once; 81 at 8) and loading the old one
// up to a seventh above growLoad; at 8, an eighth of that. A step then
// hashes about 36 keys, a few µs: BenchmarkSetTail's tail is the same at
// 1 and 8 within the machine's noise.
const rebuildGroups = 8

// replace swaps old for e (same key) in place. Readers may find e, and
// Touch it, from the moment its slot holds it: the caller sets e's
// frequency and flags first (shard.Set, shard.Expire).
func (x *index[K, V]) replace(old, e *fifo.Entry[K, V], h uint64) {
	t := x.t.Load()
	if g, ok := t.replace(old, e, h); ok && t.next != nil && g < t.next.copied {
		t.next.replace(old, e, h)
	}
	if published != nil {
		published()
	}
}

// published, if not nil, is called once replace has put the new entry in
// its slot: a test's stand-in for a reader that finds it at once.
var published func()

// replace swaps old for e in old's slot, and returns the index of its
// group; ok is false if old is not in t.
func (t *table[K, V]) replace(old, e *fifo.Entry[K, V], h uint64) (g uint64, ok bool) {
	grp, i, _ := t.locate(old, h)
	if grp == nil {
		return 0, false
	}
	grp.slots[i].Store(e)
	g = t.groupOf(grp)
	if e.Expire != 0 {
		t.expires(g, e)
	}
	return g, true
}

// remove takes e out of the index.
func (x *index[K, V]) remove(e *fifo.Entry[K, V], h uint64) {
	t := x.t.Load()
	g, ok := t.remove(e, h)
	if !ok {
		return
	}
	x.live--
	x.removed++
	if t.next != nil {
		if g < t.next.copied {
			t.next.remove(e, h)
		}
		x.rebuildStep(t)
	}
}

// remove takes e out of t, and returns the index of the group that held
// it; ok is false if t does not hold e. Its slot becomes empty, and the
// groups its probe passed count one overflow less. With a Hasher that is
// not a function of the key, h may say nothing of where e's insert passed:
// where locate had to search the whole table the counts stay as they are
// (too high, which costs probes), and where its probe found e from another
// home they may end too low, which hides entries from lookups (such a
// Hasher costs hits and may leave a key stored twice:
// TestHasherNotAFunctionOfTheKey); a lookup still ends, at the latest
// after every group.
func (t *table[K, V]) remove(e *fifo.Entry[K, V], h uint64) (g uint64, ok bool) {
	grp, i, probed := t.locate(e, h)
	if grp == nil {
		return 0, false
	}
	sh := uint(i) * 8
	grp.ctrl.Store(grp.ctrl.Load() &^ (0xff << sh)) // retract the tag first
	grp.slots[i].Store(nil)
	if probed {
		for p := home(h, t.n); &t.groups[p] != grp; {
			q := &t.groups[p]
			if ctrl := q.ctrl.Load(); overflow(ctrl, h) < ovfMax && overflow(ctrl, h) > 0 {
				q.ctrl.Store(ctrl - 1<<binShift(h))
			}
			if p++; p == t.n {
				p = 0
			}
		}
	}
	return t.groupOf(grp), true
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
