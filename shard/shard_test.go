package shard

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
	"weak"

	"github.com/ufocache/ufocache/fifo"
)

func mixHash(k int) uint64 {
	x := uint64(k)*0x9e3779b97f4a7c15 + 1
	x ^= x >> 31
	return x * 0xbf58476d1ce4e5b9
}

// A table of one group (a shard of a few entries) finds every key it
// holds: Find's probe must look at its home group before it counts a step.
func TestOneGroupIndexFindsItsKeys(t *testing.T) {
	var s Shard[int, int]
	s.Init(4, true, mixHash, 0, 0, 0, 0)
	if n := s.idx.t.Load().n; n != 1 {
		t.Fatalf("setup: a shard of 4 entries has %d groups, want 1", n)
	}
	for k := range 4 {
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
	}
	for k := range 4 {
		if e := s.Find(k, mixHash(k)); e == nil || e.Val != k {
			t.Errorf("Find(%d) = %v in a one-group table holding it", k, e)
		}
	}
}

// Once evicted, a value is the caller's: the shard keeps no reference to
// it (its scratch list of victims is cleared after each Set), so a cache
// that reports to no one lets the collector take it at once.
func TestEvictedValuesAreCollectable(t *testing.T) {
	var s Shard[int, *[64]byte]
	s.Init(4, true, mixHash, 0, 0, 0, 0)
	var gone []weak.Pointer[[64]byte]
	for k := range 40 {
		v := new([64]byte)
		gone = append(gone, weak.Make(v))
		s.Set(k, v, mixHash(k), 1, 0, 0, nil)
		if s.Find(k, mixHash(k)) == nil {
			t.Fatalf("key %d: not stored", k)
		}
	}
	runtime.GC()
	held := 0
	for k, w := range gone {
		if w.Value() != nil && s.Find(k, mixHash(k)) == nil {
			held++
		}
	}
	if held != 0 {
		t.Errorf("%d evicted values are still reachable after GC", held)
	}
}

// The sketch forgets what it counted while the shard filled when the shard
// first overflows, and only then (until Clear).
func TestSketchStartsAfreshOnFirstOverflow(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 4096, 4096, 0) // a sketch that never grows
	set := func(k int) { s.Set(k, k, mixHash(k), 1, 0, 0, nil) }
	est := func(k int) uint32 { return s.sketch.Estimate(mixHash(k)) }
	for k := range 100 {
		set(k)
	}
	if est(5) != 1 {
		t.Fatalf("while filling: key 5 estimated %d, want 1", est(5))
	}
	set(100) // the first overflow
	if est(5) != 0 || est(100) != 1 {
		t.Fatalf("after the first overflow: key 5 estimated %d (want 0), key 100 %d (want 1)", est(5), est(100))
	}
	for k := 101; k < 300; k++ {
		set(k)
	}
	if est(100) < 1 {
		t.Fatalf("a later overflow reset the sketch: key 100 estimated %d", est(100))
	}
	s.Clear(nil)
	for k := 1000; k < 1100; k++ {
		set(k)
	}
	set(1100)
	if est(1005) != 0 || est(1100) != 1 {
		t.Fatalf("after Clear and a refill: key 1005 estimated %d (want 0), key 1100 %d (want 1)", est(1005), est(1100))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A heavier value of a resident key can make the first overflow too: the
// sketch starts afresh then, not at a later new key's overflow, when the
// duels have begun to go by its counts.
func TestSketchStartsAfreshOnAnOverflowByAReplace(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, false, mixHash, 0, 4096, 4096, 0) // a sketch that never grows
	set := func(k int, w uint32) { s.Set(k, k, mixHash(k), w, 0, 0, nil) }
	est := func(k int) uint32 { return s.sketch.Estimate(mixHash(k)) }
	for k := range 20 { // 20 keys (too few for the sketch to age) of weight 5
		set(k, 5)
	}
	if est(7) != 1 {
		t.Fatalf("while filling: key 7 estimated %d, want 1", est(7))
	}
	set(5, 10) // weight 105: the first overflow
	if est(7) != 0 {
		t.Fatalf("after the first overflow, by a heavier value of key 5: key 7 estimated %d, want 0", est(7))
	}
	set(200, 5)
	if est(200) != 1 {
		t.Fatalf("after a later overflow by a new key: its estimate %d, want 1 (no second reset)", est(200))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Once the shard has overflowed, the sketch keeps what it counted: a
// weighted shard whose entries get lighter holds more of them than its
// sketch was sized for, and the sketch grows then, after the first
// overflow. Growing must not wipe the counts the duels rely on.
func TestSketchGrowsWithoutForgettingAfterTheFirstOverflow(t *testing.T) {
	var s Shard[int, int]
	s.Init(20000, false, mixHash, 0, 1024, 0, 0) // a sketch for 1024 keys
	set := func(k int, w uint32) { s.Set(k, k, mixHash(k), w, 0, 0, nil) }
	n := s.sketch.Capacity()
	// Heavy entries, 50 units each: it overflows at the 401st, while 400
	// entries are fewer than the sketch grows for (n/weightedSketchRoom).
	for k := range 401 {
		set(k, 50)
	}
	if !s.filled {
		t.Fatal("the shard did not overflow")
	}
	if got := s.sketch.Capacity(); got != n {
		t.Fatalf("the sketch grew from %d to %d keys before the first overflow: the test would not see growth after it", n, got)
	}
	hot := 400 // resident, just inserted after the reset
	for range 7 {
		s.sketch.Add(mixHash(hot))
	}
	before := s.sketch.Estimate(mixHash(hot))
	for k := range 50 { // the heavy entries give way to light ones
		s.Delete(k, mixHash(k), nil)
	}
	light := 0
	for k := 100000; s.sketch.Capacity() == n; k++ {
		if k > 100000+2*n {
			t.Fatalf("the sketch never grew: %d entries", s.Len())
		}
		set(k, 1)
		light++
	}
	if e := s.Find(hot, mixHash(hot)); light == 0 || e == nil {
		t.Fatalf("%d light entries set before the sketch grew; hot key resident: %v", light, e != nil)
	}
	after := s.sketch.Estimate(mixHash(hot))
	t.Logf("sketch grew from %d to %d keys at %d entries; hot key estimated %d before, %d after", n, s.sketch.Capacity(), s.Len(), before, after)
	if after < before/2 {
		t.Errorf("growing the sketch after the first overflow dropped a resident's estimate from %d to %d", before, after)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A shard whose entries all weigh 1 grows its index up to the slots its
// entry bound needs (index.init's maxSlot: the bound over growLoad, in
// whole groups) and no further, however many keys churn through it: the
// doubling is capped there rather than overshooting to the next power of
// two. An insert into a full shard holds one entry above the bound until
// its eviction; at growLoad 0.8, at 44 and 100 entries (428 of the bounds
// up to 3000) that entry took a table at the bound past growLoad, and a
// rehash doubled it (to 112 and 252 slots). The tables wanted, worked by
// hand at 0.65: 44/0.65 = 67.7, so 68 slots, 10 groups of 7, 70 slots;
// 45/0.65 = 69.2, 70 slots, 10 groups; 100/0.65 = 153.8, 154 slots, 22
// groups; 1000/0.65 = 1538.5, 1539 slots, 220 groups, 1540.
func TestIndexStaysWithinTheEntryBound(t *testing.T) {
	for capacity, want := range map[int]int{44: 70, 45: 70, 100: 154, 1000: 1540} {
		var s Shard[int, int]
		s.Init(int64(capacity), true, mixHash, 0, 4096, 0, 0)
		for k := range 20 * capacity {
			s.Set(k, k, mixHash(k), 1, 0, 0, nil)
			if k%3 == 0 {
				s.Delete(k-1, mixHash(k-1), nil)
			}
		}
		if slots := int(s.idx.t.Load().n) * groupSlots; slots != want {
			t.Errorf("index of %d slots for at most %d entries, want %d", slots, capacity, want)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// farKey is where indexHash starts sending keys to the last group.
const farKey = 1000

// indexHash is a Hasher for index tests that places keys by hand: key k's
// tag is its low 7 bits, its overflow bin the next 2 (k>>7&3), and its
// home (home maps the low 32 bits onto the groups) is group 0 for k <
// farKey, else the last group, whatever the table's size. Keys that share
// a home fill its group, then the next.
func indexHash(k int) uint64 {
	h := uint64(k&0x7f)<<32 | uint64(k>>7&3)<<40
	if k >= farKey {
		h |= 0xffffffff
	}
	return h
}

func newIndex(maxEntries int) *index[int, int] {
	x := &index[int, int]{hash: indexHash}
	x.init(maxEntries, 0)
	return x
}

func (x *index[K, V]) slots() int { return int(x.t.Load().n) * groupSlots }

func indexAdd(x *index[int, int], k int) *fifo.Entry[int, int] {
	e := &fifo.Entry[int, int]{Key: k, Val: k, Weight: 1}
	x.add(e, indexHash(k))
	return e
}

// The add that takes the index's live slots above growLoad (a table of 56
// slots holds 36, 0.65*56 = 36.4) starts doubling it, and the new table
// takes over once it holds every entry, rebuildGroups groups copied per
// write (TestDoublingTakesOverARebuild follows a longer one); a removal
// empties its slot: no slot is marked deleted.
func TestIndexLoadBounds(t *testing.T) {
	x := newIndex(1000) // 56 slots, and room to double
	t0 := x.t.Load()
	load, slots := growLoad, 56.0
	full := int(load * slots) // 36 at 0.65
	var es []*fifo.Entry[int, int]
	for k := range full {
		es = append(es, indexAdd(x, k))
	}
	if x.t.Load() != t0 || x.slots() != 56 {
		t.Fatalf("%d entries in 56 slots: rebuilt to %d slots", full, x.slots())
	}
	for _, e := range es[:10] { // churn at full live: no rehash
		x.remove(e, indexHash(e.Key))
		indexAdd(x, 100+e.Key)
	}
	if x.t.Load() != t0 {
		t.Fatalf("removals and adds at %d live rebuilt the table (%d slots)", full, x.slots())
	}
	if indexAdd(x, 50); x.slots() != 112 { // 8 groups: copied in the add's one step
		t.Fatalf("entry %d: %d slots, want 112", full+1, x.slots())
	}
	x = newIndex(0)
	x.remove(indexAdd(x, 0), indexHash(0))
	if ctrl := x.t.Load().groups[0].ctrl.Load(); ctrl != 0 {
		t.Errorf("the only entry removed: control word %#x, want 0", ctrl)
	}
}

// A table of aheadBytes or more is allocated off the Set path (grown; here
// the test runs the allocation when it chooses): the add that takes the
// table past growLoad does not wait for it, the adds go on into the old
// table, the first one after it is ready starts the doubling, and an add
// that takes the old table past hardLoad waits for it. Every entry stays
// where a lookup finds it, and a Clear drops a table still on its way.
func TestLargeTableGrowsOffTheSetPath(t *testing.T) {
	spread := func(k int) uint64 {
		h := uint64(k) * 0x9e3779b97f4a7c15
		return h ^ h>>29
	}
	add := func(x *index[int, int], k int) *fifo.Entry[int, int] {
		e := &fifo.Entry[int, int]{Key: k, Val: k, Weight: 1}
		x.add(e, spread(k))
		return e
	}
	fresh := func() *index[int, int] {
		x := &index[int, int]{hash: spread}
		x.init(0, 0)
		return x
	}
	var pending []func()
	defer func(f func(func())) { startAhead = f }(startAhead)
	startAhead = func(f func()) { pending = append(pending, f) }
	for _, ready := range []bool{true, false} { // the table ready before hardLoad, or not
		x := fresh()
		pending = pending[:0]
		var es []*fifo.Entry[int, int]
		k := 0
		for len(pending) == 0 {
			if es = append(es, add(x, k)); k > 1<<22 {
				t.Fatal("no table was allocated off the Set path")
			}
			k++
		}
		t0 := x.t.Load()
		slots := float64(t0.n * groupSlots)
		// The first table of aheadBytes or more is the one asked for: the
		// table it doubles was made at once, under aheadBytes (tables
		// double from 512 bytes, so one of exactly aheadBytes comes).
		gs := uint64(unsafe.Sizeof(group[int, int]{}))
		if size := t0.n * 2 * gs; size < aheadBytes || t0.n*gs >= aheadBytes || t0.next != nil || float64(x.live) > growLoad*slots+1 {
			t.Fatalf("allocation started at %d live of %v slots, for %d bytes, next %v", x.live, slots, size, t0.next != nil)
		}
		for float64(x.live+1) <= hardLoad*slots {
			es = append(es, add(x, k))
			k++
		}
		if x.t.Load() != t0 || t0.next != nil || len(pending) != 1 {
			t.Fatalf("at %d live of %v slots, the table waiting for its successor: doubling %v, %d allocations", x.live, slots, t0.next != nil, len(pending))
		}
		if ready {
			pending[0]()
		}
		// The next add takes the table past hardLoad: if the goroutine has
		// not delivered, the add makes the table itself.
		es = append(es, add(x, k))
		k++
		if t0.next == nil || t0.next.n != 2*t0.n {
			t.Fatalf("ready %v: the add past hardLoad did not start the doubling", ready)
		}
		if !ready {
			next := t0.next
			pending[0]() // delivered late, to nobody
			if x.ahead != nil || t0.next != next {
				t.Fatalf("a table delivered after the add made its own was taken")
			}
		}
		if float64(x.live) > hardLoad*slots+2 {
			t.Errorf("ready %v: %d live in %v slots, above hardLoad", ready, x.live, slots)
		}
		for x.t.Load() == t0 {
			es = append(es, add(x, k))
			k++
		}
		for _, e := range es {
			if _, _, probed := x.t.Load().locate(e, spread(e.Key)); !probed {
				t.Fatalf("ready %v: entry %d not found by its probe after the doubling", ready, e.Key)
			}
		}
	}
	x := fresh()
	pending = pending[:0]
	for k := 0; len(pending) == 0; k++ {
		add(x, k)
	}
	x.reset(newTable[int, int](x.minSlot))
	pending[0]() // delivered to a request the reset dropped
	if x.ahead != nil {
		t.Error("reset kept the table on its way")
	}
}

// Each group counts, per bin of keys, the entries whose probe passed it
// because it was full, and a lookup ends at the first group whose count
// for its key's bin is 0. A removal takes one off its bin's count in each
// group its entry passed, so a group whose slot was emptied by a removal
// still leads lookups on to the entries beyond it; a count that saturates
// (3) stays. Check verifies the counts against the entries' probes.
func TestIndexOverflowCounts(t *testing.T) {
	var s Shard[int, int]
	x := &s.idx
	x.hash = indexHash
	x.init(1000, 0) // 56 slots: 8 groups
	count := func(g, k int) uint64 { return overflow(x.t.Load().groups[g].ctrl.Load(), indexHash(k)) }
	probe := func(k int) int { return missProbe(x.t.Load(), indexHash(k)) }
	es := map[int]*fifo.Entry[int, int]{}
	// All home in group 0: 0-6 (bin 0) fill it, and 128, 129 (bin 1) and
	// 256 (bin 2) go on to group 1.
	for _, k := range []int{0, 1, 2, 3, 4, 5, 6, 128, 129, 256} {
		es[k] = indexAdd(x, k)
	}
	if count(0, 0) != 0 || count(0, 128) != 2 || count(0, 256) != 1 || count(0, 384) != 0 || count(1, 128) != 0 {
		t.Fatalf("group 0 counts %d, %d, %d, %d for bins 0-3, group 1 %d for bin 1; want 0, 2, 1, 0 and 0",
			count(0, 0), count(0, 128), count(0, 256), count(0, 384), count(1, 128))
	}
	// A miss of bin 0 or 3 ends at group 0; one of bin 1 or 2 reads on.
	for k, want := range map[int]int{7: 1, 130: 2, 257: 2, 385: 1} {
		if got := probe(k); got != want {
			t.Errorf("absent key %d (bin %d): lookup reads %d groups, want %d", k, k>>7&3, got, want)
		}
	}
	x.remove(es[0], indexHash(0))     // group 0 has an empty slot now
	x.remove(es[128], indexHash(128)) // one of the three in group 1
	if count(0, 128) != 1 || count(0, 256) != 1 {
		t.Fatalf("after removing 0 and 128: group 0 counts %d, %d for bins 1, 2; want 1, 1", count(0, 128), count(0, 256))
	}
	for _, k := range []int{129, 256} { // beyond group 0, whose slot is empty
		if e := s.Find(k, indexHash(k)); e != es[k] {
			t.Errorf("key %d, in group 1 past group 0's empty slot, not found", k)
		}
	}
	for _, k := range []int{0, 128, 500} {
		if e := s.Find(k, indexHash(k)); e != nil {
			t.Errorf("key %d found, not in the index", k)
		}
	}
	// Keys homed in the last group (bin 3) overflow round into group 0.
	for k := farKey; k < farKey+8; k++ {
		indexAdd(x, k)
	}
	if count(7, farKey) != 1 {
		t.Errorf("8 keys of the last group: its count %d, want 1", count(7, farKey))
	}
	if e := s.Find(farKey+7, indexHash(farKey+7)); e == nil {
		t.Error("the key that wrapped round to group 0 not found")
	}
	if err := x.checkOverflows(x.t.Load()); err != nil {
		t.Error(err)
	}

	// Saturation: 128 keys of bin 0 and 3 of bin 1, all homed in group 0,
	// pass it 121 and 3 times: both counts are at 3, and stay there.
	x.init(0, 0)
	clear(es)
	var zeros []*fifo.Entry[int, int]
	for k := range 128 {
		zeros = append(zeros, indexAdd(x, k))
	}
	for k := 128; k < 131; k++ {
		es[k] = indexAdd(x, k)
	}
	if count(0, 0) != ovfMax || count(0, 128) != 3 {
		t.Fatalf("128+3 keys of group 0: its counts %d, %d; want %d, 3", count(0, 0), count(0, 128), ovfMax)
	}
	for _, e := range zeros[7:100] {
		x.remove(e, indexHash(e.Key))
	}
	x.remove(es[128], indexHash(128))
	if count(0, 0) != ovfMax {
		t.Errorf("a saturated count fell to %d", count(0, 0))
	}
	if count(0, 128) != ovfMax {
		t.Errorf("bin 1's count, saturated at 3, fell to %d", count(0, 128))
	}
	for _, e := range zeros[100:] {
		if s.Find(e.Key, indexHash(e.Key)) != e {
			t.Errorf("key %d lost after removals past a saturated count", e.Key)
		}
	}
	if err := x.checkOverflows(x.t.Load()); err != nil {
		t.Error(err)
	}
}

// init empties the index and bounds it afresh: an empty bounded table has
// startSlots slots, or what its bound needs if that is fewer (whole
// groups), and a bound set before does not outlive the next init. (An
// unbounded one, init(0), starts at one group: min(max(0, 7), 56).)
func TestIndexInit(t *testing.T) {
	x := newIndex(1000)
	for _, c := range []struct{ maxEntries, slots int }{
		{1000, startSlots}, {3, 7}, // maxSlot 5
		{27, 42},        // maxSlot 42
		{40, 56},        // maxSlot 62
		{0, startSlots}, // unbounded: a weighted shard starts where a large unit one does
	} {
		x.init(c.maxEntries, 0)
		if x.slots() != c.slots || x.live != 0 {
			t.Errorf("init(%d): %d slots, %d live; want %d slots", c.maxEntries, x.slots(), x.live, c.slots)
		}
	}
	x.init(55, 0) // capped at 91 slots (maxSlot 85)
	x.init(0, 0)
	for k := range 60 {
		indexAdd(x, k)
	}
	if x.slots() != 112 {
		t.Errorf("60 entries after init(55), init(0): %d slots, want 112 (unbounded)", x.slots())
	}
}

// The sketch is sized for the entries, not the capacity: it doubles when
// an insert finds the shard holding as many entries as the sketch was
// sized for, and not before.
func TestSketchGrowsWithTheEntries(t *testing.T) {
	var s Shard[int, int]
	s.Init(1<<20, true, mixHash, 0, 1024, 0, 0)
	n := s.sketch.Capacity()
	for k := range n {
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		if c := s.sketch.Capacity(); c != n {
			t.Fatalf("the sketch grew from %d to %d keys at %d entries", n, c, s.Len())
		}
	}
	s.Set(n, n, mixHash(n), 1, 0, 0, nil)
	if c := s.sketch.Capacity(); c != 2*n {
		t.Fatalf("at %d entries the sketch is sized for %d keys, want %d", s.Len(), c, 2*n)
	}
	// Nor beyond the shard's capacity: one sized for every entry it can
	// hold stays that size.
	var full Shard[int, int]
	full.Init(int64(n), true, mixHash, 0, n, 0, 0)
	for k := range 3 * n {
		full.Set(k, k, mixHash(k), 1, 0, 0, nil)
	}
	if c := full.sketch.Capacity(); c != n {
		t.Fatalf("a shard of capacity %d grew its sketch to %d keys", n, c)
	}
}

// Expire replaces a live entry by a copy that expires at the given time,
// with the same frequency, reporting nothing and evicting nothing; an
// absent or expired key is left alone (nothing is put back).
func TestExpireKeepsTheValueAndReportsNothing(t *testing.T) {
	var s Shard[int, int]
	s.Init(10, true, mixHash, 0, 0, 0, 0)
	var out []Evicted[int, int]
	for k := range 10 {
		s.Set(k, k*10, mixHash(k), 1, 0, 1, &out)
	}
	s.Set(3, 30, mixHash(3), 1, 50, 1, &out) // expires at 50
	out = out[:0]
	s.Find(2, mixHash(2)).Touch() // read once: frequency 1
	if !s.Expire(2, mixHash(2), 5, 5) {
		t.Fatal("Expire of a live entry reported false")
	}
	e := s.Find(2, mixHash(2))
	if e == nil || e.Val != 20 || e.Expire != 5 {
		t.Fatalf("after Expire: entry %+v, want value 20 expiring at 5", e)
	}
	if f := e.Freq(); f != 1 {
		t.Fatalf("after Expire: frequency %d, want 1 (the read before; expiring is no read)", f)
	}
	if len(out) != 0 || s.Len() != 10 || s.Weight() != 10 {
		t.Fatalf("Expire reported %v, left %d entries weighing %d; want nothing reported and 10/10", out, s.Len(), s.Weight())
	}
	if s.Expire(2, mixHash(2), 6, 6) {
		t.Error("Expire of an entry expired at 5 reported true at 6")
	}
	if s.Expire(3, mixHash(3), 60, 60) {
		t.Error("Expire of an entry expired at 50 reported true at 60")
	}
	if s.Expire(99, mixHash(99), 7, 7) || s.Find(99, mixHash(99)) != nil {
		t.Error("Expire of an absent key reported true or stored it")
	}
	// An entry that had an expiry of its own trades it for the new one.
	s.Set(4, 40, mixHash(4), 1, 100, 1, &out)
	if !s.Expire(4, mixHash(4), 8, 8) {
		t.Fatal("Expire of a live entry with a TTL reported false")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	// The sweep counts entries with an expiry: 2, 3 and 4 now.
	if s.ttlEntries != 3 {
		t.Fatalf("entries with an expiry: %d, want 3", s.ttlEntries)
	}
}

// A unit shard's index is bounded by its capacity only where the capacity
// fits maxIndexBound (an int on every platform); beyond, it grows with the
// entries. On 32-bit platforms the conversion used to truncate: a capacity
// of 1<<32+100 bounded the index at 100 entries (a table of 126 slots),
// and inserts spun once it was full (a 64-bit run cannot truncate; it
// checks the rule on both sides of the bound, and that shards beyond it
// take entries).
func TestIndexBoundFitsTheCapacity(t *testing.T) {
	var s Shard[int, int]
	s.Init(maxIndexBound, true, mixHash, 0, 1024, 0, 0)
	// Room for the bound below growLoad, and not a group more than that.
	if bound, most := float64(maxIndexBound), float64(s.idx.maxSlot); most*growLoad <= bound || (most-groupSlots)*growLoad > bound {
		t.Fatalf("capacity %v: index bound %v slots, want what the capacity needs", bound, most)
	}
	for _, capacity := range []int64{maxIndexBound + 1, math.MaxInt64} {
		s.Init(capacity, true, mixHash, 0, 1024, 0, 0)
		if s.idx.maxSlot != 0 {
			t.Fatalf("capacity %d: index bound %d slots, want none", capacity, s.idx.maxSlot)
		}
		for k := range 1000 {
			s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		}
		if s.Len() != 1000 {
			t.Fatalf("capacity %d: %d entries held of 1000", capacity, s.Len())
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// Find stops at the first group no entry of its key's bin overflowed: an
// entry planted one group past its home, whose count for that bin says
// nothing passed it, is not found (a Find that read on would find it),
// even where the other bins' counts say some did. locate, which works by
// pointer, falls back to a search of the whole table and still finds it.
func TestFindStopsAtAGroupNothingPassed(t *testing.T) {
	var s Shard[int, int]
	s.idx.hash = indexHash
	s.idx.init(1000, 0)
	tab := s.idx.t.Load()
	e := &fifo.Entry[int, int]{Key: 5, Val: 5} // bin 0
	tab.groups[1].slots[0].Store(e)            // home is group 0
	tab.groups[1].ctrl.Store(uint64(tagOf(indexHash(5))))
	if s.Find(5, indexHash(5)) != nil {
		t.Error("Find read on past a group whose overflow counts are 0")
	}
	others := uint64(0b11_10_01_00) << ovfShift // bins 1-3 count 1-3, bin 0 none
	tab.groups[0].ctrl.Store(others)
	if s.Find(5, indexHash(5)) != nil {
		t.Error("Find read on past a group whose overflow count for its key's bin is 0")
	}
	tab.groups[0].ctrl.Store(others | 1<<ovfShift)
	if s.Find(5, indexHash(5)) != e {
		t.Error("Find stopped at a group whose overflow count for its key's bin is 1")
	}
	tab.groups[0].ctrl.Store(0)
	if grp, _, probed := tab.locate(e, indexHash(5)); grp != &tab.groups[1] || probed {
		t.Errorf("locate: group found %v, by its probe %v; want group 1, by the search of the whole table", grp == &tab.groups[1], probed)
	}
}

// A same-size rebuild starts the count of removals afresh: after one, the
// next rebuildTimes tables' worth of removals rebuild nothing (a count
// left as it was would rebuild on every add).
func TestRebuildCountsRemovalsAfresh(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 4096, 0, 0)
	k := 0
	for ; k < 200; k++ { // full, its table at its cap
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
	}
	t0 := s.idx.t.Load()
	slots := int(t0.n) * groupSlots
	for ; s.idx.t.Load() == t0; k++ { // until a same-size rebuild
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		if k > 100000 {
			t.Fatal("no rebuild after 100k inserts into a full shard")
		}
	}
	if n := int(s.idx.t.Load().n) * groupSlots; n != slots {
		t.Fatalf("the table went from %d to %d slots, want a rebuild at its size", slots, n)
	}
	t0 = s.idx.t.Load()
	for range slots { // one table's worth of evictions
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		k++
	}
	if s.idx.t.Load() != t0 {
		t.Errorf("rebuilt again within %d removals of a rebuild (rebuildTimes %d)", slots, rebuildTimes)
	}
}

// missProbe counts the groups a lookup of an absent key with hash h reads
// before Find gives up: it stops where Find does, at a group no entry
// overflowed.
func missProbe[K comparable, V any](t *table[K, V], h uint64) int {
	n := 0
	for g := home(h, t.n); n < int(t.n); {
		n++
		if overflow(t.groups[g].ctrl.Load(), h) == 0 {
			break
		}
		if g++; g == t.n {
			g = 0
		}
	}
	return n
}

// Churn must not lengthen a miss's probe: a full shard of 4096 entries
// churned by 196k inserts probed 24 groups per miss on average without
// the periodic rebuild (7.2 with tombstones); with it, 2.03-2.09 with one
// overflow count per group, and about 1.6 with one per bin of keys (all
// at a load of 0.8; at growLoad's 0.65, 1.08). The average over the
// churn's second half must stay under 1.8 groups.
func TestMissProbesStayShort(t *testing.T) {
	var s Shard[int, int]
	s.Init(4096, true, mixHash, 0, 4096, 0, 0)
	total, samples := 0, 0
	for k := range 200000 {
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		if k < 100000 || k%997 != 0 {
			continue
		}
		tab := s.idx.t.Load()
		for q := 1 << 30; q < 1<<30+1000; q++ {
			total += missProbe(tab, mixHash(q))
			samples++
		}
	}
	avg := float64(total) / float64(samples)
	t.Logf("a miss probes %.2f groups on average over the churn", avg)
	if avg > 1.8 {
		t.Errorf("a miss probes %.2f groups on average in a churned full shard, want at most 1.8", avg)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// clusterHash: keys home in one of 3 groups near the start of any table
// (low 32 bits small), with mixed tags and bins.
func clusterHash(k int) uint64 {
	m := mixHash(k)
	return m&^0xffffffff | uint64(k%3)<<24
}

// Lock-free readers of stable keys never miss while a single writer churns
// other keys with the same homes and bins (adds, removes, rehashes): a
// rehash that published its table before filling it missed 53,924 times.
func TestFindNeverMissesStableKeysDuringChurn(t *testing.T) {
	var s Shard[int, int]
	x := &s.idx
	x.hash = clusterHash
	x.init(200, 0)
	live := []*fifo.Entry[int, int]{}
	next := 1000
	for range 60 { // churned keys first: the stable ones sit past them
		e := &fifo.Entry[int, int]{Key: next, Val: next, Weight: 1}
		next++
		x.add(e, clusterHash(e.Key))
		live = append(live, e)
	}
	stable := map[int]*fifo.Entry[int, int]{}
	for k := range 40 {
		e := &fifo.Entry[int, int]{Key: k, Val: k, Weight: 1}
		x.add(e, clusterHash(k))
		stable[k] = e
	}
	var stop atomic.Bool
	var misses, lookups atomic.Int64
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := (i*7 + r) % 40
				if s.Find(k, clusterHash(k)) != stable[k] {
					misses.Add(1)
				}
				lookups.Add(1)
			}
		}()
	}
	for lookups.Load() == 0 { // the readers are under way before the churn starts
		runtime.Gosched()
	}
	before := lookups.Load()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300_000 {
		if len(live) < 100 && (len(live) == 0 || rng.IntN(2) == 0) {
			e := &fifo.Entry[int, int]{Key: next, Val: next, Weight: 1}
			next++
			x.add(e, clusterHash(e.Key))
			live = append(live, e)
		} else {
			i := rng.IntN(len(live))
			e := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			x.remove(e, clusterHash(e.Key))
		}
	}
	during := lookups.Load() - before
	stop.Store(true)
	wg.Wait()
	if n := misses.Load(); n != 0 {
		t.Fatalf("%d lookups of stable keys missed", n)
	}
	if during == 0 {
		t.Fatal("no lookup ran while the churn did")
	}
	if err := x.checkOverflows(x.t.Load()); err != nil {
		t.Fatal(err)
	}
}

// A random walk of Sets and Deletes on a clustered shard, checked after
// each step.
func TestRandomWalkKeepsTheIndexChecked(t *testing.T) {
	for seed := range uint64(20) {
		var s Shard[int, int]
		s.Init(60, true, clusterHash, 0, 64, 64, 0)
		rng := rand.New(rand.NewPCG(seed, 7))
		for step := range 3000 {
			k := rng.IntN(150)
			switch rng.IntN(4) {
			case 0:
				s.Delete(k, clusterHash(k), nil)
			default:
				s.Set(k, k, clusterHash(k), 1, 0, 0, nil)
			}
			if err := s.Check(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
	}
}

// A replace by a value of the same weight in a full shard is no overflow:
// the sketch keeps its counts.
func TestReplaceOfTheSameWeightIsNoOverflow(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, false, mixHash, 0, 4096, 4096, 0)
	set := func(k int, w uint32) { s.Set(k, k, mixHash(k), w, 0, 0, nil) }
	for k := range 20 {
		set(k, 5) // weight 100: full, not over
	}
	set(5, 5)
	if e := s.sketch.Estimate(mixHash(7)); e != 1 || s.filled {
		t.Fatalf("after replacing key 5 by a value of its weight: key 7 estimated %d, filled %v; want 1, false", e, s.filled)
	}
}

// A Set over a key, and an Expire, set the new entry's frequency and
// flags before the index publishes it: a reader that finds the new entry
// at once and reads it keeps its read (the write counts one, Expire's
// none). Published first, the policy's store of the frequency overwrote
// that read.
func TestReadOfAReplacementAtOnceIsKept(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 128, 128, 0)
	const k = 7
	h := mixHash(k)
	s.Set(k, 1, h, 1, 0, 0, nil)
	defer func() { published = nil }()
	published = func() { s.Find(k, h).Touch() }
	s.Set(k, 2, h, 1, 0, 0, nil)
	if e := s.Find(k, h); e.Val != 2 || e.Freq() != 2 {
		t.Errorf("after a Set over an unread entry and a read of the new one: value %d, frequency %d; want 2, 2", e.Val, e.Freq())
	}
	s.Find(k, h).SetFreq(0)
	if !s.Expire(k, h, 50, 10) {
		t.Fatal("Expire found no live entry")
	}
	if e := s.Find(k, h); e.Expire != 50 || e.Freq() != 1 {
		t.Errorf("after an Expire of an unread entry and a read of the new one: expiry %d, frequency %d; want 50, 1", e.Expire, e.Freq())
	}
}

// The list of the entries a Set evicted is reused by the next Sets, but
// not once it grew past fifo.ScratchKept, and Clear drops it: one value
// that evicted a million entries left 17 MB held through a Clear (a
// review helper's heap measurement).
func TestLongEvictionListsAreNotKept(t *testing.T) {
	var s Shard[int, int]
	s.Init(5000, false, mixHash, 0, 4096, 4096, 0)
	set := func(k int, w uint32) { s.Set(k, k, mixHash(k), w, 0, 0, nil) }
	for k := range 6000 {
		set(k, 1)
	}
	if c := cap(s.scratch); c == 0 || c > fifo.ScratchKept {
		t.Fatalf("after Sets evicting one entry each: the list kept has room for %d, want 1 to %d", c, fifo.ScratchKept)
	}
	set(-1, 5000) // evicts every other entry
	if n, c := s.Len(), cap(s.scratch); n != 1 || c > fifo.ScratchKept {
		t.Errorf("after a Set that evicted the rest: %d entries, the list kept has room for %d; want 1 and at most %d", n, c, fifo.ScratchKept)
	}
	set(1, 1)
	s.Clear(nil)
	if s.scratch != nil {
		t.Errorf("Clear kept a list with room for %d", cap(s.scratch))
	}
}

// Check, the oracle of the index tests, finds each kind of damage: an
// overflow count above the entries that passed its group (unsaturated: the
// lookups still find every entry, but removals would leave it too high)
// or cleared under them, a wrong tag, a control byte cleared under its
// pointer, a miscounted TTL entry.
func TestCheckFindsDamage(t *testing.T) {
	var s Shard[int, int]
	s.Init(60, true, clusterHash, 0, 64, 64, 0)
	for k := range 60 {
		s.Set(k, k, clusterHash(k), 1, 0, 0, nil)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("before any damage: %v", err)
	}
	tb := s.idx.t.Load()
	// A group with a count of 1 for some bin (2 is still exact; 3 is
	// saturated, which Check accepts above the truth), and a full slot.
	g, bin := -1, uint(0)
	for i := range tb.groups {
		for b := range uint(8 / binBits) {
			if c := tb.groups[i].ctrl.Load() >> (ovfShift + b*binBits) & ovfMax; g < 0 && c == 1 {
				g, bin = i, b
			}
		}
	}
	if g < 0 {
		t.Fatal("no group counts exactly 1 entry of a bin past it: the damage below needs one")
	}
	grp := &tb.groups[g]
	full := -1
	for i := range grp.slots {
		if grp.slots[i].Load() != nil {
			full = i
		}
	}
	if full < 0 {
		t.Fatalf("group %d, which entries passed, has no entry", g)
	}
	ctrl := grp.ctrl.Load()
	tag := uint8(ctrl >> (8 * full))
	for _, d := range []struct {
		name   string
		damage func()
	}{
		{"overflow count raised", func() { grp.ctrl.Store(ctrl + 1<<(ovfShift+bin*binBits)) }},
		{"overflow count cleared", func() { grp.ctrl.Store(ctrl &^ (ovfMax << (ovfShift + bin*binBits))) }},
		{"tag changed", func() { grp.ctrl.Store(ctrl ^ uint64(tag^(0x80|(tag+1)&0x7f))<<(8*full)) }},
		{"control byte cleared", func() { grp.ctrl.Store(ctrl &^ (0xff << (8 * full))) }},
		{"TTL entries miscounted", func() { s.ttlEntries++ }},
	} {
		d.damage()
		if err := s.Check(); err == nil {
			t.Errorf("%s: Check found nothing", d.name)
		}
		grp.ctrl.Store(ctrl)
		s.ttlEntries = 0
		if err := s.Check(); err != nil {
			t.Fatalf("after undoing %s: %v", d.name, err)
		}
	}
}

// A grown sketch ages for the entries it grew for: it halves its counts
// once per 10 increments per entry (TinyLFU's sample), where the entries
// are its keys (unit shards) or its keys per weightedSketchRoom (weighted
// ones). Keys counted 8 times keep most of that a quarter of a period
// later, and about an eighth of it three periods later.
func TestSketchAgesForTheEntriesItGrewFor(t *testing.T) {
	for _, unit := range []bool{true, false} {
		var s Shard[int, int]
		s.Init(1<<20, unit, mixHash, 0, 1024, 0, 0)
		room := 1
		if !unit {
			room = weightedSketchRoom
		}
		n := s.sketch.Capacity()
		k := 0
		for s.sketch.Capacity() == n {
			s.Set(k, k, mixHash(k), 1, 0, 0, nil)
			k++
		}
		entries := s.sketch.Capacity() / room // the entries it grew for
		// recount deletes and sets again a resident key: one increment of
		// the sketch, and the entries stay as many.
		recount := func(k int) {
			s.Delete(k, mixHash(k), nil)
			s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		}
		const tracked = 100
		for range 8 {
			for k := range tracked {
				recount(k)
			}
		}
		mean := func() float64 {
			sum := 0
			for k := range tracked {
				sum += int(s.sketch.Estimate(mixHash(k)))
			}
			return float64(sum) / tracked
		}
		period := 10 * entries
		other := tracked
		churn := func(increments int) {
			for range increments {
				recount(other)
				if other++; other == s.Len() {
					other = tracked
				}
			}
		}
		churn(period / 4)
		early := mean()
		if m := early; m < 5 {
			t.Errorf("unit %v: a quarter of a period (%d increments) after the counts, their mean is %.2f, want at least 5 of 8: the sketch ages too fast", unit, period/4, m)
		}
		churn(3*period - period/4)
		t.Logf("unit %v: mean of 8 counts after a quarter of a period %.2f, after three periods %.2f", unit, early, mean())
		if m := mean(); m > 2.5 {
			t.Errorf("unit %v: three periods after the counts, their mean is %.2f, want at most 2.5: the sketch ages too slowly", unit, m)
		}
		if c := s.sketch.Capacity() / room; c != entries {
			t.Fatalf("unit %v: the sketch grew again during the test (%d entries)", unit, c)
		}
	}
}

// An entry that expired in main and was reclaimed, by DeleteExpired or by
// the sweep that Sets advance, leaves its key to the policy as lapsed: set
// again, it goes straight to main (fifo's S3.Add), not the small queue.
func TestReclaimedExpiredKeyGoesBackToMain(t *testing.T) {
	for _, by := range []string{"DeleteExpired", "sweep"} {
		t.Run(by, func(t *testing.T) {
			var s Shard[int, int]
			s.Init(100, true, mixHash, 0, 0, 0, 0)
			s.Set(5, 50, mixHash(5), 1, 40, 1, nil) // expires at 40
			for k := range 100 {
				if k != 5 {
					s.Set(k, k, mixHash(k), 1, 0, 1, nil)
				}
			}
			if e := s.Find(5, mixHash(5)); e == nil || !e.InMain() {
				t.Fatal("key 5, stored first, is not in main once the shard is full")
			}
			switch by {
			case "DeleteExpired":
				s.DeleteExpired(50, nil)
			case "sweep":
				// Sets of a present key advance the sweep, once key 5 has
				// been expired for the sweep's grace.
				for i := 0; s.Find(5, mixHash(5)) != nil; i++ {
					if i > 10_000 {
						t.Fatal("the sweep never reclaimed key 5")
					}
					s.Set(7, i, mixHash(7), 1, 0, 50+sweepGrace, nil)
				}
			}
			if s.Find(5, mixHash(5)) != nil {
				t.Fatal("key 5, expired, was not reclaimed")
			}
			s.Set(5, 51, mixHash(5), 1, 0, 60+sweepGrace, nil)
			if e := s.Find(5, mixHash(5)); e == nil || !e.InMain() {
				t.Error("key 5, lapsed from main, came back to the small queue")
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// DeleteExpired scans without the lock: a Set can take it at any point of
// the scan (here, while the scan visits each entry), and the scan still
// removes every expired entry, in batches, and nothing else.
func TestDeleteExpiredScansWithoutTheLock(t *testing.T) {
	var s Shard[int, int]
	s.Init(1000, true, mixHash, 0, 0, 0, 0)
	for k := range 1000 {
		expire := int64(0)
		if k%3 != 0 {
			expire = 10 // two in three expire
		}
		s.Set(k, k, mixHash(k), 1, expire, 1, nil)
	}
	visits, held, left := 0, 0, 0
	scanned = func(any) {
		visits++
		left = s.Len() // at the last visit: what the batches removed so far
		if !s.mu.TryLock() {
			held++
			return
		}
		s.mu.Unlock()
	}
	defer func() { scanned = nil }()
	var out []Evicted[int, int]
	s.DeleteExpired(20, &out)
	if visits < 666 || held != 0 {
		t.Fatalf("the scan visited %d entries (want the 666 expired at least) and found the lock held at %d", visits, held)
	}
	// 666 expired: with batches of 64, ten are gone before the scan's last
	// visit; at least five, say.
	if want := 1000 - 5*64; left > want {
		t.Fatalf("%d entries left at the scan's last visit, want at most %d: the scan did not remove in batches as it went", left, want)
	}
	if len(out) != 666 || s.Len() != 334 {
		t.Fatalf("%d entries removed, %d left; want 666 and 334", len(out), s.Len())
	}
	for _, ev := range out {
		if ev.Reason != Expired || ev.Key%3 == 0 {
			t.Fatalf("removed %d (%v)", ev.Key, ev.Reason)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A Set that replaces an expired entry after the scan found it (here,
// from the scan's own visit, as a Set on another core may) keeps its new
// value: a batch removes only entries the shard still holds. Sets and
// Deletes racing the scan from another goroutine leave the shard
// consistent.
func TestDeleteExpiredRacingWrites(t *testing.T) {
	var s Shard[int, int]
	s.Init(500, true, mixHash, 0, 0, 0, 0)
	var racing int64 // writes made while a scan ran, over the rounds
	defer func() {
		// A scan is too short for the scheduler to preempt it: on one P
		// the writer runs only between them.
		if racing == 0 && !t.Failed() && runtime.GOMAXPROCS(0) > 1 {
			t.Error("no write ran while a scan did")
		}
	}()
	for round := range 20 {
		now := int64(100 * (round + 1))
		for k := range 500 {
			s.Set(k, k, mixHash(k), 1, now-50+int64(k%100), now-60, nil) // about half expired at now
		}
		rewritten := map[int]bool{}
		scanned = func(x any) {
			if e := x.(*fifo.Entry[int, int]); e.Key%4 == 0 && s.reclaimable(e, now) && !rewritten[e.Key] {
				rewritten[e.Key] = true
				s.Set(e.Key, -e.Key, mixHash(e.Key), 1, 0, now, nil) // live for good
			}
		}
		var wg sync.WaitGroup
		var stop atomic.Bool
		var writes atomic.Int64
		wg.Add(1)
		go func() { // until the scan ends
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := 1 + 4*(i%125)
				// At an earlier time: their sweep steps reclaim nothing.
				s.Set(k+1, i, mixHash(k+1), 1, 0, now-60, nil)
				s.Delete(k, mixHash(k), nil)
				writes.Add(1)
			}
		}()
		for writes.Load() == 0 { // the writer is under way before the scan starts
			runtime.Gosched()
		}
		before := writes.Load()
		s.DeleteExpired(now, nil)
		racing += writes.Load() - before
		stop.Store(true)
		wg.Wait()
		scanned = nil
		if len(rewritten) == 0 {
			t.Fatalf("round %d: the scan met no expired entry to rewrite (%d held)", round, s.Len())
		}
		for k := range rewritten {
			if e := s.Find(k, mixHash(k)); e == nil || e.Val != -k {
				t.Fatalf("round %d: key %d, set live while the scan ran, is gone or stale", round, k)
			}
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// The sweep looks at the index groups' earliest expiries and visits only
// the groups where one is due: in a shard of 20k entries with a TTL, a
// tenth of them expired, every expired entry is reclaimed within the Sets
// it takes to look at every group sweepScan at a time and visit the due
// ones sweepVisits at a time, a fraction of the Sets that visiting every
// group in turn took; the groups it visited are no longer due; and the
// live entries stay.
func TestSweepVisitsOnlyDueGroups(t *testing.T) {
	const n = 20_000
	var s Shard[int, int]
	s.Init(n+1, true, mixHash, 0, 0, 0, 0)
	const late = 100 << dueShift
	for k := range n {
		expire := int64(late) // live throughout
		if k%10 == 0 {
			expire = 10
		}
		s.Set(k, k, mixHash(k), 1, expire, 1, nil)
	}
	groups := int(s.idx.t.Load().n)
	due := 0
	for _, d := range s.idx.t.Load().due {
		if d == 0 {
			due++
		}
	}
	if due < n/10/7 {
		t.Fatalf("%d groups note an expiry at tick 0, want at least %d", due, n/10/7)
	}
	now := int64(10 + sweepGrace)
	dueNow := func() (d int) {
		for _, tick := range s.idx.t.Load().due {
			if tick <= dueTick(now-sweepGrace) {
				d++
			}
		}
		return d
	}
	sets, before := 0, dueNow()
	for ; s.Len() > n-n/10+1; sets++ { // +1: key -1
		if limit := groups/sweepScan + due/sweepVisits + 2; sets > limit {
			t.Fatalf("%d entries left after %d Sets, want %d within %d (%d groups, %d due)", s.Len(), sets, n-n/10+1, limit, groups, due)
		}
		s.Set(-1, sets, mixHash(-1), 1, 0, now, nil)
		// Each Set visits (reads the entries of) at most sweepVisits due
		// groups, and each group it visits is then no longer due.
		after := dueNow()
		if before-after > sweepVisits {
			t.Fatalf("Set %d visited %d due groups, want at most %d", sets, before-after, sweepVisits)
		}
		before = after
	}
	t.Logf("%d groups, %d due: the expired entries reclaimed in %d Sets", groups, due, sets)
	if sets*2 > groups {
		t.Errorf("%d Sets to reclaim them, want under half the %d groups", sets, groups)
	}
	// A visited group notes the earliest expiry left in it: none is due
	// now, and a DeleteExpired reads no entry.
	stale, limit := 0, dueTick(now-sweepGrace)
	for _, d := range s.idx.t.Load().due {
		if d <= limit {
			stale++
		}
	}
	if stale != 0 {
		t.Errorf("%d of %d groups still note an expiry by %d after the sweep reclaimed every expired entry", stale, groups, limit)
	}
	reads := 0
	scanned = func(any) { reads++ }
	defer func() { scanned = nil }()
	s.DeleteExpired(now, nil)
	if reads != 0 {
		t.Errorf("DeleteExpired read %d entries with nothing expired", reads)
	}
	for k := range n {
		if e := s.Find(k, mixHash(k)); (e != nil) != (k%10 != 0) {
			t.Fatalf("key %d: held %v", k, e != nil)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// The sweep leaves an entry expired for less than sweepGrace where it is:
// a Set of its key in that time is written over it in place, keeping its
// place in main; past the grace, the sweep reclaims it.
func TestSweepGrace(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 0, 0, 0)
	s.Set(5, 5, mixHash(5), 1, 40, 1, nil) // expires at 40
	for k := range 100 {
		if k != 5 {
			s.Set(k, k, mixHash(k), 1, 0, 1, nil)
		}
	}
	if e := s.Find(5, mixHash(5)); e == nil || !e.InMain() {
		t.Fatal("key 5, stored first, is not in main once the shard is full")
	}
	within := int64(40 + sweepGrace - 1)
	for i := range 1000 { // many sweep steps, all within the grace
		s.Set(7, i, mixHash(7), 1, 0, within, nil)
	}
	old := s.Find(5, mixHash(5))
	if old == nil {
		t.Fatal("the sweep reclaimed key 5 within its grace")
	}
	s.Set(5, 50, mixHash(5), 1, 1000+sweepGrace, within, nil)
	if e := s.Find(5, mixHash(5)); e == nil || e.Val != 50 || !e.InMain() {
		t.Fatal("key 5, written over its expired entry, is not in main")
	}
	// Past the grace of its new expiry, the sweep takes it.
	for i := 0; s.Find(5, mixHash(5)) != nil; i++ {
		if i > 1000 {
			t.Fatal("the sweep never reclaimed key 5 past its grace")
		}
		s.Set(7, i, mixHash(7), 1, 0, 1000+2*sweepGrace, nil)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Check finds a group whose noted earliest expiry is later than one of its
// entries' (the sweep would pass that entry by).
func TestCheckFindsALateDueTick(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 0, 0, 0)
	s.Set(1, 1, mixHash(1), 1, 5<<dueShift, 1, nil)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	tb := s.idx.t.Load()
	for g := range tb.due {
		if tb.due[g] == 5 {
			tb.due[g] = 6
		}
	}
	if err := s.Check(); err == nil {
		t.Fatal("Check found nothing wrong with a due tick after its entry's expiry")
	}
}

// A keep as long as time itself (KeepExpired: NoExpiration) keeps every
// entry from the sweep, early in the clock as late: now - keep -
// sweepGrace wrapped round to a time past every expiry, and the sweep
// took live entries for expired ones.
func TestSweepWithTheLongestKeep(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, math.MaxInt64, 0, 0, 0)
	for _, now := range []int64{1, 2 << dueShift, math.MaxInt64 / 2} {
		s.Set(1, 1, mixHash(1), 1, now+1<<40, now, nil)
		for i := range 200 {
			s.Set(2, i, mixHash(2), 1, 0, now+int64(i), nil)
		}
		if s.Find(1, mixHash(1)) == nil {
			t.Fatalf("at %d, the sweep took key 1, live (and kept for ever once expired)", now)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// DeleteExpired reads the entries of the groups whose earliest expiry is
// due, not every entry: 20k entries with a TTL, one in 100 expired.
func TestDeleteExpiredReadsOnlyDueGroups(t *testing.T) {
	const n = 20_000
	var s Shard[int, int]
	s.Init(n, true, mixHash, 0, 0, 0, 0)
	for k := range n {
		expire := int64(1 << 50)
		if k%100 == 0 {
			expire = 10
		}
		s.Set(k, k, mixHash(k), 1, expire, 1, nil)
	}
	visits := 0
	scanned = func(any) { visits++ }
	defer func() { scanned = nil }()
	var out []Evicted[int, int]
	s.DeleteExpired(20, &out)
	if len(out) != n/100 || s.Len() != n-n/100 {
		t.Fatalf("%d removed, %d left; want %d and %d", len(out), s.Len(), n/100, n-n/100)
	}
	if visits > n/100*groupSlots {
		t.Fatalf("the scan read %d entries, want at most the %d slots of the groups holding the %d expired", visits, n/100*groupSlots, n/100)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A table that grows while DeleteExpired scans it (Sets of new keys from
// the scan's first visit, in its first chunk of groups): the scan goes on
// over the table it started with, which still holds every entry present
// then, and every expired entry is removed from the new one.
func TestDeleteExpiredAcrossANewTable(t *testing.T) {
	const n = 24_000 // past the doubling that 18,637 entries start
	var s Shard[int, int]
	s.Init(1<<20, true, mixHash, 0, 0, 0, 0)
	for k := range n {
		s.Set(k, k, mixHash(k), 1, 10, 1, nil)
	}
	before := s.idx.t.Load()
	if before.n <= deleteChunk {
		t.Fatalf("%d groups: the scan must take more than one chunk of %d", before.n, deleteChunk)
	}
	grown := false
	scanned = func(any) {
		if !grown {
			grown = true
			for k := n; k < 4*n; k++ {
				s.Set(k, k, mixHash(k), 1, 0, 20, nil)
			}
		}
	}
	defer func() { scanned = nil }()
	s.DeleteExpired(20, nil)
	if s.idx.t.Load() == before {
		t.Fatal("the index did not grow during the scan")
	}
	for k := range n {
		if s.Find(k, mixHash(k)) != nil {
			t.Fatalf("key %d, expired, was not removed", k)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A same-size rebuild of the index is spread over the writes,
// rebuildGroups groups per add or removal: rehashing a full shard at once
// made one Set in every 12,600 or so hash all 4096 keys under the lock
// (the p99.999 of Sets into a full cache). Counting the hashes each Set
// makes in a churned full shard, the most any Set makes must stay near
// two steps' worth, while the table is still rebuilt as often.
func TestRebuildIsSpreadOverWrites(t *testing.T) {
	var s Shard[int, int]
	hashes := 0
	counted := func(k int) uint64 { hashes++; return mixHash(k) }
	s.Init(4096, true, counted, 0, 4096, 0, 0)
	for k := range 4096 {
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
	}
	most, swaps := 0, 0
	tab := s.idx.t.Load()
	for k := 4096; k < 200_000; k++ {
		hashes = 0
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
		most = max(most, hashes)
		if nt := s.idx.t.Load(); nt != tab {
			tab = nt
			swaps++
		}
	}
	t.Logf("a Set hashed at most %d keys; %d rebuilds", most, swaps)
	if most > 2*rebuildGroups*groupSlots+8 {
		t.Errorf("a Set hashed %d keys, want at most %d (an add's and a removal's steps, and the Set's own)", most, 2*rebuildGroups*groupSlots+8)
	}
	// 196k removals, a rebuild started after each 2 x 6307 slots' worth.
	if swaps < 12 {
		t.Errorf("the table was rebuilt %d times over 196k removals, want at least 12", swaps)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Removals carry a doubling on as adds do: a shard that only deletes once
// its table began doubling drops the old table within its groups'
// rebuildGroups-th removals (it used to keep both tables until the next
// add).
func TestRemovalsFinishADoubling(t *testing.T) {
	var s Shard[int, int]
	s.Init(1<<30, false, mixHash, 0, 1024, 0, 0) // weighted: the index grows
	k := 0
	for ; s.idx.t.Load().next == nil; k++ {
		s.Set(k, k, mixHash(k), 1, 0, 0, nil)
	}
	old := s.idx.t.Load()
	limit := int(old.n)/rebuildGroups + 1
	for d := 0; s.idx.t.Load() == old; d++ {
		if d == limit || d == k {
			t.Fatalf("%d removals, and the doubling of a %d-group table is still under way", d, old.n)
		}
		s.Delete(d, mixHash(d), nil)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Every kind of write during a rebuild reaches both tables where it must:
// inserts, replacements (with and without a TTL), Expire, deletions,
// evictions, the expiry sweep, DeleteExpired and Clear, in a unit shard
// and in a weighted one (whose index grows with its entries, so that a
// doubling can take over from a rebuild), checked after each write during
// a rebuild (Check verifies the table being filled: the entries of the
// groups copied so far, each once, with true overflow counts and expiry
// notes).
func TestRebuildKeepsEveryWrite(t *testing.T) {
	for _, unit := range []bool{true, false} {
		var s Shard[int, int]
		s.Init(300, unit, mixHash, 0, 4096, 0, 0)
		rng := rand.New(rand.NewPCG(3, 4))
		tab, swaps, during, cleared, expired := s.idx.t.Load(), 0, 0, 0, uint64(0)
		for i := range 200_000 {
			now := int64(i+1) * 1e6 // 1 ms a write: the sweep's grace is 1.07 s
			k := rng.IntN(800)
			w := uint32(1)
			if !unit {
				w += uint32(rng.IntN(3))
			}
			switch op := rng.IntN(100); {
			case op < 20:
				s.Delete(k, mixHash(k), nil)
			case op < 40:
				s.Set(k, i, mixHash(k), w, now+rng.Int64N(3e9)+1, now, nil)
			case op < 45:
				s.Expire(k, mixHash(k), now, now)
			case op < 46:
				s.DeleteExpired(now, nil)
			case op < 47 && tab.next != nil && cleared < 5:
				s.Clear(nil) // mid-rebuild
				cleared++
			default:
				s.Set(k, i, mixHash(k), w, 0, now, nil)
			}
			if nt := s.idx.t.Load(); nt != tab {
				if tab.next != nil {
					t.Fatalf("unit %v, write %d: the table swapped out still points to its successor", unit, i)
				}
				tab = nt
				swaps++
			}
			if tab.next != nil {
				during++
			} else if i%64 != 0 {
				continue // Check is a walk of the shard: during rebuilds, and now and then
			}
			if err := s.Check(); err != nil {
				t.Fatalf("unit %v, write %d: %v", unit, i, err)
			}
		}
		expired = s.Stats().Expirations
		t.Logf("unit %v: %d tables swapped in; %d writes checked during a rebuild; %d cleared during one; %d entries expired", unit, swaps, during, cleared, expired)
		if swaps < 20 || during < 400 || cleared < 5 || expired < 200 {
			t.Fatalf("unit %v: %d tables swapped in, %d writes during a rebuild, %d Clears during one, %d expired: the test did not exercise them", unit, swaps, during, cleared, expired)
		}
	}
}

// A doubling takes over from a rebuild at the same size under way: the
// rebuild's table is dropped and the doubled one is filled from the start.
func TestDoublingTakesOverARebuild(t *testing.T) {
	var s Shard[int, int]
	x := &s.idx
	x.hash = mixHash
	x.init(0, 0) // unbounded: doubling at growLoad
	var es []*fifo.Entry[int, int]
	k := 0
	add := func() {
		e := &fifo.Entry[int, int]{Key: k, Val: k, Weight: 1}
		x.add(e, mixHash(k))
		es = append(es, e)
		k++
	}
	for x.t.Load().n < 16*rebuildGroups { // a rebuild takes 16 steps
		add()
	}
	t0 := x.t.Load()
	for float64(x.live+3) <= growLoad*float64(t0.n*groupSlots) {
		add()
	}
	for t0.next == nil { // churn, 3 entries short of growLoad, until a rebuild starts
		x.remove(es[0], mixHash(es[0].Key))
		es = es[1:]
		if add(); k > 1e6 || x.t.Load() != t0 {
			t.Fatal("no rebuild started")
		}
	}
	if t0.next.n != t0.n {
		t.Fatalf("a rebuild of %d groups started from %d", t0.next.n, t0.n)
	}
	for range 3 { // past growLoad: the doubling starts, the rebuild not done
		add()
	}
	if x.t.Load() != t0 || t0.next == nil || t0.next.n != 2*t0.n || t0.next.copied != rebuildGroups {
		t.Fatalf("at %d live: no doubling under way from the table of %d groups", x.live, t0.n)
	}
	if err := x.checkRebuild(t0); err != nil {
		t.Fatal(err)
	}
	doubling := t0.next
	for x.t.Load() == t0 {
		if add(); t0.next != doubling && x.t.Load() == t0 {
			t.Fatal("the doubling started over")
		}
	}
	if n := x.t.Load().n; n != 2*t0.n || x.t.Load() != doubling {
		t.Fatalf("%d groups after the doubling, want %d", n, 2*t0.n)
	}
	for _, e := range es {
		if s.Find(e.Key, mixHash(e.Key)) != e {
			t.Fatalf("key %d lost", e.Key)
		}
	}
	if err := x.checkOverflows(x.t.Load()); err != nil {
		t.Fatal(err)
	}
}

// TestRemovalAtTheEndOfTheLongestProbe: in a table of two groups, a key
// whose probe passed its full home group sits in the last group its probe
// can reach; removing it must find it by the probe and lower the count it
// raised (a locate that stopped a group early fell back to its full scan,
// which leaves the counts, and later misses read on for nothing).
func TestRemovalAtTheEndOfTheLongestProbe(t *testing.T) {
	var s Shard[int, int]
	x := &s.idx
	x.hash = indexHash
	x.init(8, 0)
	if n := x.t.Load().n; n != 2 {
		t.Fatalf("the table has %d groups, want 2", n)
	}
	for k := range groupSlots { // keys 0-6 fill group 0
		indexAdd(x, k)
	}
	e := indexAdd(x, 128) // homed in group 0 too: goes on to group 1
	if c := overflow(x.t.Load().groups[0].ctrl.Load(), indexHash(128)); c != 1 {
		t.Fatalf("group 0's count for key 128's bin is %d, want 1", c)
	}
	if _, _, probed := x.t.Load().locate(e, indexHash(128)); !probed {
		t.Error("key 128 was found only by the full scan")
	}
	x.remove(e, indexHash(128))
	if c := overflow(x.t.Load().groups[0].ctrl.Load(), indexHash(128)); c != 0 {
		t.Errorf("after removing key 128, group 0's count for its bin is %d, want 0", c)
	}
}

// An entry that an Expire (RTCache's Invalidate) replaced by a copy while
// DeleteExpired's scan held the original is reclaimed all the same when
// the copy is as reclaimable: the key was expired at least keep ago at
// every point of the call, so no point of it explains the key left in
// place. (The batch's removal looked for the original only, and left the
// copy: TestLinearizable's rtcache-ttl-moving-clock config found a
// leader's lookup finding the key expired after such a DeleteExpired.)
func TestDeleteExpiredReclaimsACopyExpireMadeDuringTheScan(t *testing.T) {
	for _, keep := range []int64{0, 30} {
		var s Shard[int, int]
		s.Init(100, true, mixHash, keep, 0, 0, 0)
		const k = 7
		s.Set(k, 70, mixHash(k), 1, 100, 10, nil) // expires at 100
		s.Set(8, 80, mixHash(8), 1, 0, 10, nil)   // never
		var copied bool
		scanned = func(x any) {
			if e := x.(*fifo.Entry[int, int]); e.Key == k && !copied {
				// Live at 50: the copy expires at 50.
				copied = s.Expire(k, mixHash(k), 50, 50)
			}
		}
		s.DeleteExpired(200, nil) // the original expired 100 ago, the copy 150
		scanned = nil
		if !copied {
			t.Fatalf("keep %d: the scan met no entry of key %d to expire", keep, k)
		}
		if e := s.Find(k, mixHash(k)); e != nil {
			t.Errorf("keep %d: key %d, expired at 50, is still held (expiry %d) after DeleteExpired at 200", keep, k, e.Expire)
		}
		if e := s.Find(8, mixHash(8)); e == nil || e.Val != 80 {
			t.Errorf("keep %d: DeleteExpired removed a live entry", keep)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// DeleteExpired's batch judges the key's current entry at the call's now,
// to the nanosecond: an entry a Set put in place of the one the scan found
// stays if it expired less than keep before now (or has not expired), and
// goes if it expired exactly keep before. (TestDeleteExpiredRacingWrites
// replaces with entries that never expire,
// TestDeleteExpiredReclaimsACopyExpireMadeDuringTheScan with one expired
// long before: neither is near the bound.)
func TestDeleteExpiredJudgesAReplacementAtTheCallsNow(t *testing.T) {
	const k, now = 7, 200
	for _, keep := range []int64{0, 30} {
		for _, c := range []struct {
			expire int64 // the replacement's
			gone   bool
		}{{now - keep + 1, false}, {now - keep, true}} {
			var s Shard[int, int]
			s.Init(100, true, mixHash, keep, 0, 0, 0)
			s.Set(k, 70, mixHash(k), 1, 100, 10, nil) // expired 100 before now
			replaced := false
			scanned = func(x any) {
				if e := x.(*fifo.Entry[int, int]); e.Key == k && !replaced {
					replaced = true
					s.Set(k, 71, mixHash(k), 1, c.expire, 10, nil)
				}
			}
			s.DeleteExpired(now, nil)
			scanned = nil
			if !replaced {
				t.Fatalf("keep %d: the scan met no entry of key %d", keep, k)
			}
			e := s.Find(k, mixHash(k))
			if gone := e == nil; gone != c.gone {
				t.Errorf("keep %d: a replacement expiring at %d, after DeleteExpired at %d: gone %v, want %v", keep, c.expire, now, gone, c.gone)
			} else if e != nil && e.Val != 71 {
				t.Errorf("keep %d: key %d holds %d, want the replacement's 71", keep, k, e.Val)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
