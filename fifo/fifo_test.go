package fifo

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/ufocache/ufocache/sketch"
)

type entry = Entry[int, int]

func newEntry(k int, w uint32) *entry {
	return &entry{Key: k, Val: k, Weight: w}
}

func hash(k int) uint64 { return uint64(k)*0x9e3779b97f4a7c15 + 1 }

// FuzzQueue drives a Queue and a slice with the same operations.
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 0, 1, 2, 0, 3, 1, 1, 1, 4, 9})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var q Queue[int, int]
		var ref []*entry
		next := 0
		fresh := func() *entry { next++; return newEntry(next, uint32(next%3+1)) }
		for _, op := range ops {
			switch op % 5 {
			case 0:
				e := fresh()
				q.pushBack(e)
				ref = append(ref, e)
			case 1:
				e := fresh()
				q.pushFront(e)
				ref = slices.Insert(ref, 0, e)
			case 2:
				got := q.popFront()
				if len(ref) == 0 {
					if got != nil {
						t.Fatal("pop from empty returned an entry")
					}
					continue
				}
				if got != ref[0] {
					t.Fatalf("popped %v, want %v", got.Key, ref[0].Key)
				}
				ref = ref[1:]
			case 3:
				if len(ref) > 0 {
					i := int(op/5) % len(ref)
					e := fresh()
					q.swap(ref[i], e)
					ref[i] = e
				}
			case 4:
				if len(ref) > 0 {
					i := int(op/5) % len(ref)
					q.unlink(ref[i])
					ref = slices.Delete(ref, i, i+1)
				}
			}
			var got []*entry
			q.Each(func(e *entry) { got = append(got, e) })
			if !slices.Equal(got, ref) {
				t.Fatalf("queue holds %d entries, reference %d", len(got), len(ref))
			}
			if err := q.Check(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Check, which FuzzQueue and the shard's invariant checks rely on, reports
// each kind of corruption on its own: a broken back link, a tail the walk
// does not end on, and a weight the links do not add up to.
func TestQueueCheckFindsCorruption(t *testing.T) {
	build := func() (*Queue[int, int], []*entry) {
		var q Queue[int, int]
		es := []*entry{newEntry(1, 1), newEntry(2, 2), newEntry(3, 3)}
		for _, e := range es {
			q.pushBack(e)
		}
		if err := q.Check(); err != nil {
			t.Fatalf("a sound queue: %v", err)
		}
		return &q, es
	}
	q, es := build()
	es[2].prev = es[0]
	if err := q.Check(); err != errBadLink {
		t.Errorf("a wrong prev link: %v, want %v", err, errBadLink)
	}
	q, _ = build()
	q.tail = newEntry(9, 0) // not in the queue: links and weight still agree
	if err := q.Check(); err != errBadCount {
		t.Errorf("a tail off the queue: %v, want %v", err, errBadCount)
	}
	q, _ = build()
	q.weight++ // the links and the tail agree
	if err := q.Check(); err != errBadCount {
		t.Errorf("a weight off by one: %v, want %v", err, errBadCount)
	}
	q, _ = build()
	q.head = nil
	if err := q.Check(); err != errBadLink {
		t.Errorf("a tail without a head: %v, want %v", err, errBadLink)
	}
}

// newS3 returns an empty policy past blind admission, as if a key had
// already been seen again: the duels the tests set up are fought (see
// newBlindS3 for a policy fresh from Init).
func newS3(capacity int64) *S3[int, int] {
	p := newBlindS3(capacity)
	p.reused()
	return p
}

func newBlindS3(capacity int64) *S3[int, int] {
	p := &S3[int, int]{}
	p.Init(capacity, true, sketch.New(int(capacity)), hash)
	return p
}

// add inserts e and evicts as a shard would; it returns the entries
// evicted, after checking that each came out with its key's hash.
func add(p *S3[int, int], e *entry) []*entry {
	p.sketch.Add(hash(e.Key))
	p.Add(e, hash(e.Key))
	return entries(p.Evict(0, e, nil))
}

func entries(gone []Gone[int, int]) []*entry {
	out := make([]*entry, len(gone))
	for i, g := range gone {
		if g.H != hash(g.E.Key) {
			panic(fmt.Sprintf("entry %d evicted with hash %#x, want %#x", g.E.Key, g.H, hash(g.E.Key)))
		}
		out[i] = g.E
	}
	return out
}

func TestEvictKeepsTheBoundAndTheNewcomer(t *testing.T) {
	p := newS3(50)
	for k := range 1000 {
		e := newEntry(k, uint32(k%7+1))
		for _, v := range add(p, e) {
			if v == e {
				t.Fatal("the newcomer was evicted by its own insert")
			}
			if !v.Dead() || v.Queued() {
				t.Fatal("a victim is not flagged dead and unlinked")
			}
		}
		if p.Weight() > 50 {
			t.Fatalf("weight %d above 50", p.Weight())
		}
	}
}

// Entries read while in the small queue are promoted, and survive a scan
// of one-hit keys that flows through the small queue; so they do in a
// policy fresh from Init, whose blind admission their reads end.
func TestReadEntriesSurviveAScan(t *testing.T) {
	for name, p := range map[string]*S3[int, int]{"past blind admission": newS3(100), "fresh": newBlindS3(100)} {
		hot := make([]*entry, 50)
		for i := range hot {
			hot[i] = newEntry(i, 1)
			add(p, hot[i])
		}
		// Read in main, not while in small during the fill: that would
		// start the small queue larger (fillShare), which main's CLOCK
		// victims pay for as it fills up, scan or not.
		for _, e := range hot {
			e.Touch()
			e.Touch()
		}
		for k := 1000; k < 11000; k++ { // a scan, 100 times the capacity
			add(p, newEntry(k, 1))
			if k%100 == 0 {
				for _, e := range hot {
					e.Touch()
				}
			}
		}
		lost := 0
		for _, e := range hot {
			if e.Dead() {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d of 50 hot entries lost to a scan", name, lost)
		}
	}
}

// A loop slightly larger than the cache: plain FIFO gets no hits; the
// admission duel keeps a stable majority resident.
func TestLoopKeepsAStableSet(t *testing.T) {
	p := newS3(100)
	resident := map[int]*entry{}
	hits, total := 0, 0
	for round := range 30 {
		for k := range 120 {
			if e, ok := resident[k]; ok && !e.Dead() {
				e.Touch()
				if round > 5 {
					hits++
				}
			} else {
				e := newEntry(k, 1)
				resident[k] = e
				add(p, e)
			}
			if round > 5 {
				total++
			}
		}
	}
	if ratio := float64(hits) / float64(total); ratio < 0.6 {
		t.Fatalf("hit ratio %.2f on a loop of 120 over 100 entries", ratio)
	}
}

func TestRemoveAndReplace(t *testing.T) {
	p := newS3(10)
	a, b := newEntry(1, 2), newEntry(2, 3)
	add(p, a)
	add(p, b)
	a.Touch()
	// The small queue keeps to its share (1) while main has room: a moved
	// on to main when b came (b, just stored, stays).
	if !a.InMain() || b.InMain() || p.main.head != a || p.small.head != b {
		t.Fatalf("while main had room: a in main %v, b in main %v", a.InMain(), b.InMain())
	}
	a2 := newEntry(1, 4)
	p.Replace(a, a2)
	// The write counts as one more read: a's 1 becomes 2.
	if a2.Freq() != 2 || !a2.InMain() || !a2.Queued() || p.Weight() != 7 || p.main.head != a2 || p.main.tail != a2 {
		t.Fatalf("Replace: new freq %d, weight %d, head is new %v", a2.Freq(), p.Weight(), p.main.head == a2)
	}
	a3 := newEntry(1, 5)
	a2.SetFreq(3)
	p.Replace(a2, a3)
	if a3.Freq() != 3 || p.main.head != a3 || p.Weight() != 8 {
		t.Fatalf("Replace of a saturated entry: freq %d, weight %d", a3.Freq(), p.Weight())
	}
	p.Remove(b)
	p.Remove(b) // twice is harmless
	if p.Weight() != 5 || p.main.Len() != 1 || p.small.Len() != 0 || !b.Dead() {
		t.Fatalf("Remove: weight %d, len %d", p.Weight(), p.main.Len())
	}
	for _, q := range []*Queue[int, int]{&p.small, &p.main} {
		if err := q.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFillingKeepsSmallToItsShare: while the cache fills, the small queue
// holds its share (and the entry just stored), the rest moves on to main,
// and reads of entries there are kept for the CLOCK. Without this the
// small queue held every entry until the first overflow, which then moved
// them all to main with their reads forgotten.
func TestFillingKeepsSmallToItsShare(t *testing.T) {
	p := newS3(1000)
	var all []*entry
	for k := range 900 {
		e := newEntry(k, 1)
		if out := add(p, e); len(out) != 0 {
			t.Fatalf("evicted %d entries while filling", len(out))
		}
		all = append(all, e)
		if p.small.weight > p.smallCap+1 {
			t.Fatalf("after %d inserts the small queue holds %d, its share is %d", k+1, p.small.weight, p.smallCap)
		}
		if k%2 == 0 && k >= 100 {
			all[k-100].Touch() // in main by now
		}
	}
	if p.main.weight+p.small.weight != 900 || p.main.weight < 900-p.smallCap-1 {
		t.Fatalf("main %d, small %d of 900", p.main.weight, p.small.weight)
	}
	for k := 0; k < 800; k += 2 {
		if e := all[k]; !e.InMain() || e.Freq() != 1 {
			t.Fatalf("entry %d read in main: in main %v, frequency %d", k, e.InMain(), e.Freq())
		}
	}
}

// A cache whose newcomers are read while still in the small queue as it
// fills starts, once full, with a small queue that can hold that reuse
// (fillShare); one whose newcomers are not read keeps SmallPercent.
func TestSlowFillStartsWithALargerSmallQueue(t *testing.T) {
	for _, readEvery := range []int{0, 1, 2} {
		p := newS3(1000)
		es := map[int]*entry{}
		for k := range 1001 {
			es[k] = newEntry(k, 1)
			add(p, es[k])
			// Read a key inserted 10 earlier, still in the small queue.
			if readEvery != 0 && k%readEvery == 0 && k >= 10 {
				es[k-10].Touch()
			}
		}
		if !p.filled {
			t.Fatal("1001 entries did not overflow a capacity of 1000")
		}
		read := 0.0
		if readEvery != 0 {
			read = 1 / float64(readEvery)
		}
		// The running share lags: allow it 10% below the heads' true share.
		lo := int64(1000*fillReadPercent/100*read*0.9 + 0.5)
		hi := int64(1000 * fillReadPercent / 100 * read)
		lo, hi = max(lo, 1000*SmallPercent/100), max(hi, 1000*SmallPercent/100)
		if c := p.SmallCap(); c < lo || c > hi+1 {
			t.Errorf("one newcomer in %d read in small while filling: share %d at the first overflow, want %d-%d", readEvery, c, lo, hi)
		}
	}
}

func TestExpiredVictimsFirst(t *testing.T) {
	p := newS3(10)
	for k := range 10 {
		e := newEntry(k, 1)
		if k == 5 {
			e.Expire = 100
		}
		add(p, e)
	}
	// Read after the fill moved them to main (it clears frequencies).
	p.small.Each(func(e *Entry[int, int]) { e.Touch(); e.Touch() })
	p.main.Each(func(e *Entry[int, int]) { e.Touch(); e.Touch() })
	n := newEntry(99, 1)
	p.sketch.Add(hash(n.Key))
	p.Add(n, hash(n.Key))
	out := entries(p.Evict(200, n, nil)) // at time 200 entry 5 has expired
	if len(out) != 1 || out[0].Key != 5 {
		t.Fatalf("evicted %v, want the expired entry 5", out)
	}
}

// An entry has expired from its Expire on, as Get and the shard see it:
// at that instant it is the victim.
func TestExpiredAtTheExpiryInstant(t *testing.T) {
	e := newEntry(1, 1)
	e.Expire = 100
	if expired(e, 99) || !expired(e, 100) || !expired(e, 101) {
		t.Fatalf("expired at 99, 100, 101: %v, %v, %v; want false, true, true", expired(e, 99), expired(e, 100), expired(e, 101))
	}
	e.Expire = 0
	if expired(e, math.MaxInt64) {
		t.Fatal("an entry without a TTL expired")
	}
}

// TestEvictedEntriesAreCollectable: no link from the queues reaches an
// entry they evicted, or a long-running cache would keep every entry it
// ever evicted.
func TestEvictedEntriesAreCollectable(t *testing.T) {
	p := newS3(20)
	var gone []weak.Pointer[entry]
	for k := range 2000 {
		for _, v := range add(p, newEntry(k, 1)) {
			gone = append(gone, weak.Make(v))
		}
		if k%3 == 0 { // some reads, so that entries also go round main
			p.main.Each(func(e *entry) { e.Touch() })
		}
	}
	if len(gone) < 1900 {
		t.Fatalf("only %d evictions", len(gone))
	}
	runtime.GC()
	alive := 0
	for _, w := range gone {
		if w.Value() != nil {
			alive++
		}
	}
	if alive > 0 {
		t.Fatalf("%d of %d evicted entries are still reachable", alive, len(gone))
	}
	runtime.KeepAlive(p)
}

// The CLOCK lowers a read entry's frequency by one, to 0 from 1 too.
func TestDecFreqReachesZero(t *testing.T) {
	e := newEntry(1, 1)
	for f := range uint32(freqMask + 1) {
		e.SetFreq(f)
		e.decFreq()
		if want := max(f, 1) - 1; e.Freq() != want {
			t.Errorf("frequency %d lowered to %d, want %d", f, e.Freq(), want)
		}
	}
}

// An entry that leaves a queue keeps no link into it.
func TestRemovedEntryKeepsNoLinks(t *testing.T) {
	p := newS3(100)
	es := []*entry{newEntry(1, 1), newEntry(2, 1), newEntry(3, 1)}
	for _, e := range es {
		add(p, e)
	}
	p.Remove(es[1])
	if es[1].next != nil || es[1].prev != nil {
		t.Error("the removed entry still links to its old neighbours")
	}
}

// TestGhostWindow: a ghost remembers at least the last limit/2 keys added
// and forgets keys more than limit adds old.
func TestGhostWindow(t *testing.T) {
	var g ghost
	const limit = 64
	for k := range 1000 {
		g.add(hash(k), limit)
	}
	for k := 1000 - limit/2; k < 1000; k++ {
		if !g.has(hash(k)) {
			t.Fatalf("key %d, added %d keys ago, forgotten", k, 1000-k)
		}
	}
	fp := 0
	for k := range 1000 - limit {
		if g.has(hash(k)) {
			fp++
		}
	}
	if fp > 20 {
		t.Fatalf("%d of %d old keys still remembered", fp, 1000-limit)
	}
	// Exactly: the filters turn at every limit/2-th key, so the first key
	// of a fresh ghost is remembered while limit-1 more come, and
	// forgotten at the limit-th (turning one key late kept it). A limit
	// of 200 leaves the filters room for 128 keys: a full filter would
	// turn at 100 anyway.
	const exact = 200
	var f ghost
	for k := range exact {
		f.add(hash(k), exact)
	}
	if !f.has(hash(0)) {
		t.Fatalf("the first key forgotten after %d more", exact-1)
	}
	if f.add(hash(exact), exact); f.has(hash(0)) {
		t.Fatalf("the first key still remembered after %d more", exact)
	}
}

// TestGhostWindowThatGrows: a shard whose entry count grows (a weighted
// one that went from heavy entries to light ones) widens its ghosts'
// windows between two turns; the filter of the turn must not take more
// keys than it was sized for. It did: 60 keys in a one-word filter sized
// for 1 remembered 87% of fresh keys, and a scan's false main-ghost hits
// drove the small share to its least.
func TestGhostWindowThatGrows(t *testing.T) {
	for _, bitsPerKey := range []int32{0, returnBitsPerKey} {
		g := ghost{bits: bitsPerKey}
		k := 0
		for range 4 {
			g.add(hash(k), 2)
			k++
		}
		for range 3000 {
			g.add(hash(k), 4000)
			k++
			if k%100 != 0 {
				continue
			}
			fp := 0
			for j := range 2000 {
				if g.has(hash(1_000_000 + j)) {
					fp++
				}
			}
			if fp > 40 {
				t.Fatalf("%d bits a key, after %d keys: %d of 2000 fresh keys remembered (filters of %d and %d words)", bitsPerKey, k, fp, len(g.cur), len(g.prev))
			}
		}
	}
}

// request reads k if resident holds it, live, or else adds it (a miss).
func request(p *S3[int, int], resident map[int]*entry, k int) {
	if e, ok := resident[k]; ok && !e.Dead() {
		e.Touch()
		return
	}
	e := newEntry(k, 1)
	resident[k] = e
	add(p, e)
}

// TestLeastShare: a loop a little longer than the cache drives the small
// share down to its least, 0.1% of the capacity where every entry weighs
// 1, 0.5% where entries have weights (there 0.1% of the bound may not
// hold one entry), and never below.
func TestLeastShare(t *testing.T) {
	const capacity = 10000
	for _, unit := range []bool{true, false} {
		p := &S3[int, int]{}
		p.Init(capacity, unit, sketch.New(capacity), hash)
		p.reused()
		want := int64(capacity * MinSmallPermilleWeighted / 1000)
		if unit {
			want = capacity * MinSmallPermille / 1000
		}
		resident := map[int]*entry{}
		least := p.SmallCap()
		for range 30 {
			for k := range capacity + capacity/10 {
				request(p, resident, k)
				least = min(least, p.SmallCap())
			}
		}
		if least != want {
			t.Errorf("unit %v: the share's least over the loop was %d, want %d", unit, least, want)
		}
	}
}

// TestShareAdapts: a cyclic scan longer than the cache keeps the small
// share at or below its start, and re-reads just past the small queue's
// reach grow it.
func TestShareAdapts(t *testing.T) {
	p := newS3(1000)
	start := p.SmallCap()
	resident := map[int]*entry{}
	get := func(k int) { request(p, resident, k) }
	for range 20 {
		for k := range 1500 {
			get(k)
		}
	}
	if p.SmallCap() > start {
		t.Fatalf("loop: small share grew from %d to %d", start, p.SmallCap())
	}
	p = newS3(1000)
	clear(resident)
	for k := range 20000 {
		// every key comes back after 70 inserts: beyond a 50-entry
		// small queue but well within the cache.
		get(k + 1<<20)
		if k >= 70 {
			get(k - 70 + 1<<20)
		}
	}
	if p.SmallCap() <= start {
		t.Fatalf("recency: small share %d did not grow from %d", p.SmallCap(), start)
	}
}

// TestHotFieldsTogether: what inserts write in S3 is contiguous, queues
// first, so that shard.TestLayout can place it on the lines a Set writes.
func TestHotFieldsTogether(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the offsets are pinned for 64-bit machines; words and pointers are half the size here")
	}
	var p S3[int, int]
	q := unsafe.Sizeof(p.small)
	if unsafe.Offsetof(p.small) != 0 || unsafe.Offsetof(p.main) != q ||
		unsafe.Offsetof(p.n) != 2*q || unsafe.Offsetof(p.smallCap) != 2*q+8 ||
		unsafe.Offsetof(p.reads) != 2*q+16 || unsafe.Offsetof(p.admits) != 2*q+24 {
		t.Fatalf("S3 starts small@%d main@%d n@%d smallCap@%d reads@%d admits@%d", unsafe.Offsetof(p.small),
			unsafe.Offsetof(p.main), unsafe.Offsetof(p.n), unsafe.Offsetof(p.smallCap), unsafe.Offsetof(p.reads),
			unsafe.Offsetof(p.admits))
	}
}

// Once main is full, an entry read while in the small queue goes round it
// again with its frequency cleared and its read counted in the sketch,
// instead of dueling.
func TestReadSmallEntryGoesRound(t *testing.T) {
	p := newS3(100)
	for k := range 150 {
		add(p, newEntry(k, 1))
	}
	if p.main.weight+p.small.weight != 100 || p.main.weight < 100-p.smallCap {
		t.Fatalf("main %d, small %d after filling", p.main.weight, p.small.weight)
	}
	head := p.small.head
	head.Touch()
	before := p.sketch.Estimate(hash(head.Key))
	add(p, newEntry(1000, 1)) // the small queue's head leaves or goes round
	switch {
	case head.Dead():
		t.Fatal("the read head was evicted")
	case head.InMain():
		t.Fatal("the read head entered main although main was full")
	case head.Freq() != 0:
		t.Fatalf("frequency %d after going round, want 0", head.Freq())
	case p.sketch.Estimate(hash(head.Key)) != before+1:
		t.Fatalf("sketch estimate %d, want %d", p.sketch.Estimate(hash(head.Key)), before+1)
	case p.small.head == head:
		t.Fatal("the read head is still the small queue's head")
	}
	found := false
	p.small.Each(func(e *entry) { found = found || e == head })
	if !found {
		t.Fatal("the read head is in neither queue")
	}
	if err := p.small.Check(); err != nil {
		t.Fatal(err)
	}
}

// A newcomer that loses its duel to a victim rated at most one occurrence
// above it (in sketch.Rate's units) is counted once more in the sketch, so
// that it wins if it comes back soon; one that loses clearly is not.
//
// In the strict regime (here: the bets on duels won stopped paying) no
// loss counts: the residents have shown they are worth more.
func TestCloseLossCountsInTheSketch(t *testing.T) {
	for _, strict := range []bool{false, true} {
		var narrow, clear int
		for _, lead := range []uint32{0, 1, 2, 3, 4, 6} { // in halves of RateOne
			p := newS3(100)
			for k := range 150 {
				add(p, newEntry(k, 1))
			}
			c, v := p.small.head, p.main.head
			hc, hv := hash(c.Key), hash(v.Key)
			if p.smallCap*100 < p.capacity*strictPercent {
				t.Fatalf("small share %d of %d: the strict regime would decide", p.smallCap, p.capacity)
			}
			if strict {
				p.admission().won = 0
			}
			for p.sketch.Rate(hv) < p.sketch.Rate(hc)+lead*sketch.RateOne/2 {
				p.sketch.Add(hv)
			}
			before, rc, rv := p.sketch.Estimate(hc), p.sketch.Rate(hc), p.sketch.Rate(hv)
			gone := add(p, newEntry(1000, 1))
			if !slices.Contains(gone, c) || v.Dead() {
				t.Fatalf("strict %v, lead %d/2: the candidate (rate %d) was not the one rejected (victim rate %d)", strict, lead, rc, rv)
			}
			want := before
			if rv <= rc+sketch.RateOne {
				narrow++
				if !strict {
					want++
				}
			} else {
				clear++
			}
			if got := p.sketch.Estimate(hc); got != want {
				t.Errorf("strict %v, lead %d/2: candidate (rate %d, victim %d) rated %d after its loss, want %d", strict, lead, rc, rv, got, want)
			}
		}
		if narrow == 0 || clear == 0 {
			t.Fatalf("strict %v: %d narrow and %d clear losses: the test needs both", strict, narrow, clear)
		}
	}
}

// A heavy newcomer that would displace several entries duels with their
// mean estimate, weighted by their weights, not with each of them: one hot
// entry among the victims does not keep out a newcomer worth more than the
// victims together.
func TestHeavyNewcomerDuelsTheVictimsMean(t *testing.T) {
	const w = 4
	for _, wantIn := range []bool{true, false} {
		p := newS3(100)
		for k := range 150 {
			add(p, newEntry(k, 1))
		}
		var vs []*entry // main's next w victims: its head onwards, all unread
		for e := p.main.head; len(vs) < w; e = e.next {
			vs = append(vs, e)
		}
		for p.sketch.Estimate(hash(vs[0].Key)) < 8 {
			p.sketch.Add(hash(vs[0].Key))
		}
		var rated int64
		for _, v := range vs {
			rated += int64(p.sketch.Rate(hash(v.Key)))
		}
		// The least estimate whose rate beats the mean by the margin, or
		// the greatest whose rate does not.
		c := newEntry(1000, w)
		hc := hash(c.Key)
		f := uint32(0)
		for int64(p.sketch.RateAt(hc, f))*w <= rated+margin*w {
			f++
		}
		if !wantIn {
			f--
		}
		if p.sketch.RateAt(hc, f)+margin >= p.sketch.Rate(hash(vs[0].Key)) {
			t.Fatalf("victims rated %d in all: the hot one alone would not keep c out", rated)
		}
		for p.sketch.Estimate(hc) < f {
			p.sketch.Add(hc)
		}
		p.Add(c, hc)
		p.small.unlink(c) // as Evict pops the small queue's head
		gone := entries(p.duel(c, hc, 0, nil, p.capacity, new(int), nil))
		if c.InMain() != wantIn {
			t.Fatalf("c rated %d against victims rated %d in all: in main %v, want %v (gone %d)", f, rated, c.InMain(), wantIn, len(gone))
		}
		for _, v := range vs {
			if v.Dead() != wantIn {
				t.Fatalf("victim %d dead %v, want %v", v.Key, v.Dead(), wantIn)
			}
		}
	}
}

// A running share can fall well below the damping thresholds: with 1<<10
// as its unit it stalled at 63 (6.2%, just under growReads), so a small
// queue whose heads were never read still grew at 98% of the full step.
func TestTrackFallsBelowTheThresholds(t *testing.T) {
	share := int64(readsOne)
	for range 2000 {
		track(&share, false)
	}
	if share*100 > readsOne {
		t.Fatalf("share %d of %d after 2000 noes, want below 1%%", share, readsOne)
	}
	if d := damp(1000, share, growReads); d > 100 {
		t.Errorf("growth step %d of 1000 at share %d, want at most 100", d, share)
	}
	for range 2000 {
		track(&share, true)
	}
	if share*100 < 99*readsOne {
		t.Fatalf("share %d of %d after 2000 yeses, want above 99%%", share, readsOne)
	}
}

// A small queue at its least share, whose heads are never read there,
// still grows on small-ghost hits while its newcomers win some of their
// duels (one in 20 or more), if slowly: the damping has a floor. Without
// it the state was a trap (a queue of 2 entries yields no reads, so it
// could not grow to yield any): oltp at 500 entries fell from 34-35% to
// 30-32% for most hash seeds. While newcomers win fewer duels it does not
// grow: on a zig-zag that growth cost main residents the next pass came
// back to.
func TestShortSmallQueueCanStillGrow(t *testing.T) {
	for _, admits := range []int64{growAdmits / 2, growAdmits/2 - 1} {
		p := newS3(500)
		for k := range 600 {
			add(p, newEntry(k, 1))
		}
		k := 10000
		for range 20 {
			// smallHits at one half: no momentum (TestMomentum)
			p.smallCap, p.reads, p.admits, p.smallHits = 2, 0, admits, readsOne/2
			d := ghostHit(t, p, &k, true)
			switch {
			case admits < growAdmits/2 && d != 0:
				t.Fatalf("small share grew by %d with no reads and under one duel in 20 won, want 0", d)
			case admits >= growAdmits/2 && d <= 0:
				t.Fatalf("small share grew by %d with no reads and one duel in 20 won, want > 0", d)
			case d > ghostSample:
				t.Fatalf("small share grew by %d with no reads, want at most %d", d, ghostSample)
			}
		}
	}
}

// The share bounds hold for any capacity, MaxInt64 included: products like
// capacity*60 overflowed from about 1.5e17 (the share started at 1% and a
// ghost hit sent it to 1).
func TestShareBoundsAtHugeCapacities(t *testing.T) {
	for _, capacity := range []int64{1 << 40, 1 << 62, math.MaxInt64} {
		p := &S3[int, int]{}
		p.Init(capacity, true, sketch.New(1024), hash)
		if want := capacity / 100 * SmallPercent; p.SmallCap() < want || p.SmallCap() > want+SmallPercent {
			t.Errorf("capacity %d: small share starts at %d, want %d%%: %d", capacity, p.SmallCap(), SmallPercent, want)
		}
		p.reads, p.admits = readsOne, readsOne // undamped
		before, k := p.SmallCap(), 0
		if d := ghostHit(t, p, &k, true); d <= 0 || p.SmallCap() > Share(capacity, MaxSmallPercent, 100) {
			t.Errorf("capacity %d: a small-ghost hit moved the share %d -> %d", capacity, before, p.SmallCap())
		}
		if got, want := fillShare(capacity, readsOne), Share(capacity, fillReadPercent, 100); got > want || got < want-want/1000 {
			t.Errorf("capacity %d: every small head read while filling starts the share at %d, want %d", capacity, got, want)
		}
		if !below(1, capacity, strictPercent, 100) || below(capacity, capacity, strictPercent, 100) {
			t.Errorf("capacity %d: below() is wrong at the ends", capacity)
		}
	}
}

// protect is never chosen, not even when it has expired and a duel's CLOCK
// reaches it (the duel dropped expired victims before looking for protect).
func TestDuelNeverDropsAnExpiredProtect(t *testing.T) {
	p := newS3(10)
	for k := range 12 {
		add(p, newEntry(k, 1))
	}
	p.sketch.Add(hash(100))
	p.Add(newEntry(100, 1), hash(100)) // small holds more than its share
	old := p.main.head
	e := &entry{Key: old.Key, Val: -1, Weight: 2, Expire: 1} // heavier, expired by now
	p.Replace(old, e)
	for _, g := range p.Evict(5, e, nil) {
		if g.E == e {
			t.Fatal("Evict chose protect: expired, reached by a duel")
		}
	}
	if e.Dead() || !e.Queued() {
		t.Fatal("protect left its queue")
	}
}

// A duel that takes a live victim and then meets an expired entry whose
// departure alone makes room must put the live one back: the expired
// entry is all that leaves. (It used to skip the duel only when the
// expired entry came first, and evicted the live victim or the newcomer
// besides, leaving the cache below its bound.)
func TestExpiredEntryAfterALiveVictimMakesRoom(t *testing.T) {
	for _, tc := range []struct {
		dead, newcomer uint32 // weights; the live victim and the rest weigh 1
		name           string
		gone           []int // evicted keys
		weight         int64 // after
	}{
		// A newcomer of weight 2 leaves small unread and duels for 2
		// units of main: the live entry 0 gives 1, the expired entry 1
		// then 2, which is room enough for all.
		{2, 2, "room to spare", []int{1}, 9},
		// The expired entry's 1 makes room exactly: 7 left, the live
		// victim's 1 back, and the newcomer's 2 fill the bound of 10.
		{1, 2, "room exactly", []int{1}, 10},
		// 1 unit short: the duel goes on to the next entry, and the
		// newcomer (counted once) does not beat its two unread victims by
		// the margin; they go back, and it leaves.
		{1, 3, "one unit short", []int{1, 99}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tenS3(false)
			live := newEntry(0, 1)
			dead := &entry{Key: 1, Val: 1, Weight: tc.dead, Expire: 100}
			add(p, live)
			add(p, dead)
			for k := 2; p.Weight() < 9; k++ {
				add(p, newEntry(k, 1))
			}
			if p.Weight() != 9 || p.main.head != live || p.main.head.next != dead {
				t.Fatalf("setup: weight %d, main starts with %v", p.Weight(), p.main.head.Key)
			}
			n := newEntry(99, tc.newcomer)
			p.sketch.Add(hash(n.Key))
			p.Add(n, hash(n.Key))
			out := entries(p.Evict(200, nil, nil)) // at time 200 entry 1 has expired
			keys := []int{}
			for _, e := range out {
				keys = append(keys, e.Key)
			}
			if !slices.Equal(keys, tc.gone) {
				t.Errorf("evicted %v, want %v", keys, tc.gone)
			}
			if live.Dead() || !live.Queued() {
				t.Errorf("the live victim left the cache")
			}
			if admitted := !slices.Contains(tc.gone, n.Key); admitted && (n.Dead() || !n.Queued()) {
				t.Errorf("the newcomer left the cache (dead %v, queued %v)", n.Dead(), n.Queued())
			}
			if p.Weight() != tc.weight {
				t.Errorf("weight %d after, want %d", p.Weight(), tc.weight)
			}
			checkVictimsCleared(t, p)
			for _, q := range []*Queue[int, int]{&p.small, &p.main} {
				if err := q.Check(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// tenS3 returns a policy of capacity 10, past its first reuse, whose
// small queue's share is 1: main's is 9.
func tenS3(unit bool) *S3[int, int] {
	p := &S3[int, int]{}
	p.Init(10, unit, sketch.New(64), hash)
	p.reused()
	return p
}

// checkVictimsCleared fails t if the victim list p keeps for its next duel
// still reaches an entry: a victim put back, then evicted later, or one
// that left, would stay reachable through it until a later duel wrote over
// its slot (up to ScratchKept entries and their values per shard).
func checkVictimsCleared(t *testing.T, p *S3[int, int]) {
	t.Helper()
	for i, g := range p.victims[:cap(p.victims)] {
		if g.E != nil {
			t.Errorf("the kept victim list still holds key %d (hash %#x) at %d of %d", g.E.Key, g.H, i, cap(p.victims))
		} else if g.H != 0 {
			t.Errorf("the kept victim list still holds hash %#x at %d of %d", g.H, i, cap(p.victims))
		}
	}
}

// After a duel won, lost, or made moot by expired entries, the victim list
// kept for the next duel holds nothing (see checkVictimsCleared; the cases
// of TestExpiredEntryAfterALiveVictimMakesRoom check the other two).
func TestDuelWonLeavesNoVictimReachable(t *testing.T) {
	p, c, _ := duelWonBy(t, 3, 6) // three victims at least
	if cap(p.victims) < 3 {
		t.Fatalf("setup: the kept list has room for %d victims, want at least 3 (the newcomer weighs %d)", cap(p.victims), c.Weight)
	}
	checkVictimsCleared(t, p)
}

// The entry just stored, set aside while Evict makes room, goes back to
// the head of the small queue, where it was when set aside: a read head
// that went round behind it stays behind it (put at the tail, the new
// entry jumped the heads read meanwhile).
func TestSetAsideEntryKeepsItsPlaceInSmall(t *testing.T) {
	p := tenS3(true)
	for k := range 10 {
		add(p, newEntry(k, 1))
	}
	a := p.small.head
	if p.main.Len() != 9 || p.small.Len() != 1 {
		t.Fatalf("setup: main %d, small %d entries; want 9 and 1", p.main.Len(), p.small.Len())
	}
	a.Touch() // read: with main full it goes round, behind the new entry
	n := newEntry(10, 1)
	if gone := add(p, n); len(gone) != 1 || gone[0] == n || gone[0] == a {
		t.Fatalf("evicted %d entries (first: key %d), want one of main's", len(gone), gone[0].Key)
	}
	if p.small.head != n || n.next != a || p.small.Len() != 2 {
		var keys []int
		p.small.Each(func(e *entry) { keys = append(keys, e.Key) })
		t.Errorf("small queue holds keys %v; want 10 (the new entry), then %d (the read one)", keys, a.Key)
	}
}

// While the entry just stored is set aside, its weight counts against the
// room an expired entry makes in a duel: here the expired entry's unit
// would make room for the newcomer within the bound, but not for the
// entry set aside too, so the newcomer still duels (and, rated below its
// victim, leaves). Counting only the bound, the newcomer entered main
// without a duel and the CLOCK then evicted the resident it would have
// lost to.
func TestSetAsideWeightCountsInTheDuelsRoom(t *testing.T) {
	p := tenS3(false)
	live := newEntry(0, 1)
	add(p, live)
	add(p, &entry{Key: 1, Val: 1, Weight: 1, Expire: 100})
	for k := 2; k < 10; k++ {
		add(p, newEntry(k, 1))
	}
	for range 15 {
		p.sketch.Add(hash(live.Key)) // rated well above the newcomer
	}
	c := newEntry(10, 2)
	p.sketch.Add(hash(c.Key))
	p.Add(c, hash(c.Key)) // small: 9, then c
	old := p.small.head
	stored := newEntry(old.Key, 1)
	p.Replace(old, stored) // small: the entry just stored, then c
	if p.main.head != live || p.main.head.next.Key != 1 || p.small.head != stored || stored.next != c {
		t.Fatalf("setup: main starts with keys %d, %d; small with %d, %d", p.main.head.Key, p.main.head.next.Key, p.small.head.Key, stored.next.Key)
	}
	gone := entries(p.Evict(200, stored, nil)) // at 200 key 1 has expired
	var keys []int
	for _, e := range gone {
		keys = append(keys, e.Key)
	}
	if !slices.Equal(keys, []int{1, c.Key}) || live.Dead() || !c.Dead() || stored.Dead() {
		t.Errorf("evicted keys %v (the resident dead %v, the newcomer dead %v); want 1 (expired) and %d (the newcomer, outrated)", keys, live.Dead(), c.Dead(), c.Key)
	}
	if p.Weight() > 10 {
		t.Errorf("weight %d above the bound of 10", p.Weight())
	}
}

// An entry that leaves because its TTL passed says nothing about the
// queues' sizes: kept longer, it would not have hit. Its key coming back
// must not move the small share (either way), any more than one the
// expiry sweep removed (Remove leaves no ghost).
func TestExpiredDeparturesLeaveNoGhost(t *testing.T) {
	p := newS3(1000)
	for k := range 900 { // residents that never expire
		add(p, newEntry(k, 1))
	}
	var ttl []*entry
	for k := 10000; k < 10100; k++ { // the rest expire at 5
		e := newEntry(k, 1)
		e.Expire = 5
		ttl = append(ttl, e)
		p.sketch.Add(hash(k))
		p.Add(e, hash(k))
		p.Evict(0, e, nil)
	}
	sampledGone := 0
	for k := 20000; ; k++ { // after expiry, newcomers push them out
		n := newEntry(k, 1)
		p.sketch.Add(hash(k))
		p.Add(n, hash(k))
		p.Evict(10, n, nil)
		gone := 0
		for _, e := range ttl {
			if e.Dead() {
				gone++
			}
		}
		if gone == len(ttl) {
			break
		}
		if k > 30000 {
			t.Fatalf("only %d of the %d expired entries left", gone, len(ttl))
		}
	}
	start := p.SmallCap()
	for _, e := range ttl {
		h := hash(e.Key)
		if sampled(h) {
			sampledGone++
		}
		if sampled(h) && (p.smallGhost.has(h) || p.mainGhost.has(h)) {
			t.Errorf("expired key %d is in a ghost (small %v, main %v)", e.Key, p.smallGhost.has(h), p.mainGhost.has(h))
		}
	}
	for _, e := range ttl { // they come back, fresh
		n := newEntry(e.Key, 1)
		p.sketch.Add(hash(n.Key))
		p.Add(n, hash(n.Key))
		p.Evict(10, n, nil)
	}
	t.Logf("%d of the expired keys are sampled; small share %d before they came back, %d after", sampledGone, start, p.SmallCap())
	if p.SmallCap() != start {
		t.Errorf("expired keys coming back moved the small share from %d to %d", start, p.SmallCap())
	}
}

// A newcomer heavier than main's share (the small queue may take 90% of
// the weight) duels main's entries only: it used to take the small queue's
// entries as victims too once main was empty, so that every such duel
// walked the whole cache, reached the entry just stored (never a victim)
// and lost, however often the newcomer had been seen.
func TestNewcomerHeavierThanMainsShareDuelsMainOnly(t *testing.T) {
	p := newS3(1000)
	for k := range 2000 {
		add(p, newEntry(k, 1))
	}
	p.smallCap = 900
	for k := 2000; k < 3000; k++ {
		add(p, newEntry(k, 1))
	}
	if p.small.weight != 900 || p.main.weight != 100 {
		t.Fatalf("small %d, main %d: want 900 and 100", p.small.weight, p.main.weight)
	}
	inMain := map[*entry]bool{}
	p.main.Each(func(e *entry) { inMain[e] = true })
	c := newEntry(9999, 200)
	for range 15 {
		p.sketch.Add(hash(c.Key)) // far above every resident
	}
	var gone []*entry
	for k := 3000; k < 5000 && !c.InMain() && !c.Dead(); k++ {
		if k == 3000 {
			gone = append(gone, add(p, c)...)
			continue
		}
		gone = append(gone, add(p, newEntry(k, 1))...)
	}
	if !c.InMain() {
		t.Fatalf("the newcomer rated above every resident did not enter main (dead %v)", c.Dead())
	}
	// What left from main are the victims of c's duel; from small, the
	// light heads that left unread before c reached the head.
	fromMain := 0
	for _, v := range gone {
		if inMain[v] {
			fromMain++
		}
	}
	if fromMain != 100 || p.main.weight != 200 {
		t.Errorf("%d entries of main left, main weighs %d: want all 100 displaced by c alone", fromMain, p.main.weight)
	}
	if err := p.small.Check(); err != nil {
		t.Fatal(err)
	}
	if err := p.main.Check(); err != nil {
		t.Fatal(err)
	}
}

// ghostHit has a new sampled key, remembered by the small queue's ghost
// if small, else by main's, miss in p, and returns the share's move.
func ghostHit(t *testing.T, p *S3[int, int], k *int, small bool) int64 {
	t.Helper()
	for ; ; *k++ {
		h := hash(*k)
		if !sampled(h) || p.smallGhost.has(h) || p.mainGhost.has(h) {
			continue
		}
		if small {
			p.smallGhost.add(h, 100)
		} else {
			p.mainGhost.add(h, 100)
		}
		before := p.SmallCap()
		p.Add(newEntry(*k, 1), h)
		p.Remove(p.small.tail)
		*k++
		return p.SmallCap() - before
	}
}

// While one ghost draws at least momentumPercent of the ghost hits, each
// hit in a run of that ghost's doubles the share's step, up to
// 2^momentumShift times; a hit of the other ghost ends the run. While
// neither ghost dominates, each hit moves the share by one step.
func TestMomentum(t *testing.T) {
	p := momentumS3()
	k := 1 << 20
	step := int64(ghostSample)
	moves := func(small bool, n int) []int64 {
		var out []int64
		for range n {
			out = append(out, ghostHit(t, p, &k, small))
		}
		return out
	}
	smallShare(p, readsOne) // small's ghost dominates, and stays above 65% for these hits
	if got, want := moves(true, 5), []int64{step, 2 * step, 4 * step, 8 * step, 8 * step}; !slices.Equal(got, want) {
		t.Errorf("a run of small-ghost hits moved the share by %v, want %v", got, want)
	}
	smallShare(p, 0) // main's ghost dominates
	if got, want := moves(false, 5), []int64{-step, -2 * step, -4 * step, -8 * step, -8 * step}; !slices.Equal(got, want) {
		t.Errorf("a run of main-ghost hits moved the share by %v, want %v", got, want)
	}
	smallShare(p, readsOne)
	if got, want := moves(true, 2), []int64{step, 2 * step}; !slices.Equal(got, want) {
		t.Errorf("small-ghost hits after main's moved the share by %v, want %v (the run starts again)", got, want)
	}
	smallShare(p, 0)
	if got, want := moves(false, 2), []int64{-step, -2 * step}; !slices.Equal(got, want) {
		t.Errorf("main-ghost hits after small's moved the share by %v, want %v (the run starts again)", got, want)
	}
	smallShare(p, readsOne/2)
	for _, small := range []bool{true, true, true, false, false, false} {
		want := step
		if !small {
			want = -step
		}
		if got := ghostHit(t, p, &k, small); got != want {
			t.Errorf("with neither ghost dominant, a ghost hit (small %v) moved the share by %d, want %d", small, got, want)
		}
	}
}

// The shards of a cache pool small's side of the momentum: a run of
// small-ghost hits goes on from one shard to the next, and a main-ghost
// hit in any shard ends it. Main's side stays each shard's own.
func TestMomentumIsPooled(t *testing.T) {
	a, b := momentumS3(), momentumS3()
	b.SharePool(a.pool)
	k := 1 << 20
	step := int64(ghostSample)
	smallShare(a, readsOne)
	smallShare(b, readsOne)
	got := []int64{ghostHit(t, a, &k, true), ghostHit(t, a, &k, true), ghostHit(t, b, &k, true), ghostHit(t, a, &k, true)}
	if want := []int64{step, 2 * step, 4 * step, 8 * step}; !slices.Equal(got, want) {
		t.Errorf("small-ghost hits in shards a, a, b, a moved their shares by %v, want %v", got, want)
	}
	a.smallHits = 0 // a's main ghost dominates a's own hits
	if got := ghostHit(t, a, &k, false); got != -step {
		t.Errorf("a main-ghost hit moved the share by %d, want %d", got, -step)
	}
	if got := ghostHit(t, b, &k, true); got != step {
		t.Errorf("a small-ghost hit in b after a main-ghost hit in a moved b's share by %d, want %d (the pooled run ended)", got, step)
	}
	b.smallHits = 0
	got = []int64{ghostHit(t, a, &k, false), ghostHit(t, b, &k, false), ghostHit(t, a, &k, false)}
	if want := []int64{-2 * step, -step, -4 * step}; !slices.Equal(got, want) {
		t.Errorf("main-ghost hits in shards a, b, a moved their shares by %v, want %v (each shard's own run)", got, want)
	}
}

// Init empties an S3, its own momentum included: after a run of
// small-ghost hits, the first one after Init moves the share by one step.
// A pool shared with other shards is the cache's to reset (Cache.Clear),
// and Init keeps it, run and all.
func TestInitRenewsItsOwnPool(t *testing.T) {
	step := int64(ghostSample)
	for _, shared := range []bool{false, true} {
		p := momentumS3()
		if shared {
			p.SharePool(NewPool())
		}
		k := 1 << 20
		smallShare(p, readsOne)
		for range 4 {
			ghostHit(t, p, &k, true)
		}
		p.Init(10000, true, p.sketch, hash)
		for range 500 {
			add(p, newEntry(-1-p.Len(), 1))
		}
		p.smallCap = 2000
		p.reads, p.admits = readsOne, readsOne
		p.smallHits = readsOne
		want := step
		if shared {
			want = 8 * step // the run goes on
		}
		if got := ghostHit(t, p, &k, true); got != want {
			t.Errorf("shared pool %v: the first small-ghost hit after Init moved the share by %d, want %d", shared, got, want)
		}
	}
}

// momentumS3 returns a full S3 with a share of 20% whose steps are not
// damped.
func momentumS3() *S3[int, int] {
	p := newS3(10000)
	for range 500 {
		add(p, newEntry(-1-p.Len(), 1))
	}
	p.smallCap = 2000
	p.reads, p.admits = readsOne, readsOne // undamped: Add moves neither
	return p
}

// smallShare sets the running shares of ghost hits that were small's, p's
// own and its pool's, keeping the pool's run.
func smallShare(p *S3[int, int], share int64) {
	p.smallHits = share
	p.pool.w.Store(p.pool.w.Load()&^(1<<32-1) | uint64(share))
}

// The CLOCK ends however fast readers raise the frequencies it lowers: a
// reader that touches each entry the moment it goes round (clockRound)
// kept every frequency at 3, and an insert into a full cache used to turn
// main's CLOCK for ever under the shard lock. It now takes the head once
// it has met (freqMask+1) times as many entries as the queues hold.
func TestClockEndsWhileReadersKeepTouching(t *testing.T) {
	p := newS3(100)
	var all []*entry
	for k := range 100 {
		e := newEntry(k, 1)
		add(p, e)
		all = append(all, e)
	}
	for _, e := range all {
		e.SetFreq(freqMask)
	}
	rounds, limit := 0, 100*(freqMask+1)*10
	clockRound = func(e any) {
		if rounds++; rounds <= limit {
			e.(*entry).SetFreq(freqMask)
		}
	}
	defer func() { clockRound = nil }()
	for k := 100; k < 110; k++ {
		add(p, newEntry(k, 1))
	}
	if rounds > limit {
		t.Fatalf("10 inserts while a reader kept every entry read: the CLOCK sent %d entries round (the test's reader stopped at %d), want at most %d per insert",
			rounds, limit, (freqMask+1)*101+1)
	}
	if p.Weight() > 100 {
		t.Fatalf("weight %d above 100", p.Weight())
	}
}

// The small queue's rounds are bounded the same way: a reader that reads
// every head Evict sends round the small queue (while main is full, a read
// head goes round rather than to main) cannot keep an insert from ending.
// Each Evict sends round at most the small queue's weight (then the head
// duels, read or not). Without that bound such an insert never ended.
func TestSmallRoundsEndWhileReadersKeepTouching(t *testing.T) {
	p := newS3(100)
	for k := range 100 {
		add(p, newEntry(k, 1))
	}
	p.small.Each(func(e *entry) { e.Touch() })
	rounds, limit := 0, 100_000
	smallRound = func(e any) {
		if rounds++; rounds <= limit {
			e.(*entry).Touch()
		}
	}
	defer func() { smallRound = nil }()
	const inserts = 10
	most := 0
	for k := 100; k < 100+inserts; k++ {
		// Unprotected and read at once, as a Set's entry may be, the
		// newcomer goes round too: no unread head ends the rounds.
		e := newEntry(k, 1)
		e.Touch()
		p.sketch.Add(hash(k))
		p.Add(e, hash(k))
		most += int(p.small.weight)
		p.Evict(0, nil, nil)
	}
	if rounds == 0 {
		t.Fatal("no read head went round the small queue: the test does not reach the bound")
	}
	if rounds > most {
		t.Fatalf("%d inserts while a reader kept every small entry read: %d sent round (the reader stopped at %d), want at most %d",
			inserts, rounds, limit, most)
	}
	if p.Weight() > 100 {
		t.Fatalf("weight %d above 100", p.Weight())
	}
}

// Single-threaded, the bound never fires: with every main entry read
// freqMask times, the CLOCK sends each round freqMask times and takes the
// original head, leaving every other main entry at frequency 0.
func TestClockBoundKeepsSingleThreadedOrder(t *testing.T) {
	p := newS3(100)
	for k := range 100 {
		add(p, newEntry(k, 1))
	}
	m := p.main.Len()
	if m < 50 {
		t.Fatalf("main holds %d entries, want most of 100", m)
	}
	p.main.Each(func(e *entry) { e.SetFreq(freqMask) })
	head := p.main.head
	v := p.clock(0, new(int))
	if v != head {
		t.Fatalf("clock took key %d, want the original head %d (after %d rounds of %d entries)", v.Key, head.Key, freqMask, m)
	}
	p.main.Each(func(e *entry) {
		if e.Freq() != 0 {
			t.Errorf("key %d left at frequency %d, want 0", e.Key, e.Freq())
		}
	})
	p.main.pushFront(v) // leave the queues whole
}

// Each CLOCK round costs a read entry one read, not all of them: the head,
// read freqMask times among unread entries, goes round and keeps
// freqMask-1 reads, and the next entry is taken.
func TestClockTakesOneReadPerRound(t *testing.T) {
	p := newS3(100)
	for k := range 100 {
		add(p, newEntry(k, 1))
	}
	p.main.Each(func(e *entry) { e.takeFreq() })
	head := p.main.head
	head.SetFreq(freqMask)
	next := head.next
	if v := p.clock(0, new(int)); v != next {
		t.Fatalf("clock took key %d, want %d, the unread one after the read head", v.Key, next.Key)
	}
	if f := head.Freq(); f != freqMask-1 || p.main.tail != head {
		t.Errorf("the head read %d times went round with frequency %d (at main's tail: %v), want %d", freqMask, f, p.main.tail == head, freqMask-1)
	}
	p.main.pushFront(next) // leave the queues whole
}

// A duel whose CLOCK reaches protect in main (a Replace's, or a lapsed
// key's) sends protect round and goes on with the entries after it: the
// newcomer, rated well above them, enters main. (The duel used to end at
// protect, and the newcomer lost it whatever the rates.)
func TestDuelGoesOnPastProtect(t *testing.T) {
	p := newS3(10)
	for k := range 12 {
		add(p, newEntry(k, 1))
	}
	for range 8 {
		p.sketch.Add(hash(100))
	}
	p.small.Each(func(x *entry) { x.Touch() }) // they go round small: c duels first
	c := newEntry(100, 1)
	p.Add(c, hash(100)) // small holds more than its share
	old := p.main.tail
	e := &entry{Key: old.Key, Val: -1, Weight: 2} // heavier: room must be made
	p.Replace(old, e)
	e.takeFreq()                                            // unread, at main's tail,
	p.main.Each(func(x *entry) { x.takeFreq(); x.Touch() }) // behind entries read once:
	e.takeFreq()                                            // the CLOCK reaches it first
	gone := entries(p.Evict(0, e, nil))
	for _, g := range gone {
		if g == e {
			t.Fatal("Evict chose protect")
		}
	}
	if c.Dead() || !c.InMain() {
		t.Fatalf("the newcomer, rated %d against main's entries seen once, lost its duel at protect (gone: %d entries)", p.sketch.Estimate(hash(100)), len(gone))
	}
	if e.Dead() || !e.Queued() || !e.InMain() {
		t.Fatal("protect left main")
	}
	if p.Weight() > 10 {
		t.Fatalf("weight %d above the capacity", p.Weight())
	}
}

// A newcomer too heavy for main's room without protect (the entry just
// stored, in main) loses its duel: the duel passes protect once, and at
// the second meeting ends (sending it round each time looped for ever).
func TestDuelEndsAtProtectsSecondRound(t *testing.T) {
	p := newS3(10)
	for k := range 10 {
		add(p, newEntry(k, 1))
	}
	old := p.main.head
	protect := newEntry(old.Key, 1)
	p.Replace(old, protect)
	c := newEntry(100, 9)
	c.meta.Store(queued)
	done := make(chan []Gone[int, int], 1)
	go func() {
		met := 0
		done <- p.duel(c, hash(c.Key), 0, protect, p.capacity, &met, nil)
	}()
	select {
	case gone := <-done:
		if len(gone) != 1 || gone[0].E != c || protect.Dead() {
			t.Errorf("the duel took %d entries (the newcomer: %v), protect dead %v; want the newcomer alone", len(gone), len(gone) > 0 && gone[0].E == c, protect.Dead())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the duel still runs after 10 s: it loops on protect")
	}
}

// A duel lost against several victims puts them back where they were:
// main's CLOCK order is unchanged.
func TestLostDuelKeepsMainsOrder(t *testing.T) {
	p := newS3(100)
	for k := range 150 {
		add(p, newEntry(k, 1))
	}
	order := func() (keys []int) {
		p.main.Each(func(e *entry) { keys = append(keys, e.Key) })
		return keys
	}
	before := order()
	c := newEntry(5000, 5) // unrated: it loses to its five victims
	c.meta.Store(queued)
	met := 0
	gone := p.duel(c, hash(c.Key), 0, nil, p.capacity, &met, nil)
	if len(gone) != 1 || gone[0].E != c {
		t.Fatalf("setup: %d entries left, want the newcomer alone", len(gone))
	}
	if after := order(); !slices.Equal(before, after) {
		t.Errorf("main's order after the lost duel starts %v, was %v", after[:8], before[:8])
	}
}

// TestHeavyNewcomerClockIsBoundedPerEvict: while readers keep every entry
// read, one Evict meets at most (freqMask+1) times the entries held in
// main's CLOCK, however many victims a heavy newcomer needs: counted per
// victim, a newcomer of 90% of the capacity (900 victims of weight 1) took
// 900 times that. Both ways a heavy entry makes room: stored (protected
// while its own Set evicts for it) and duelling from the small queue's
// head.
func TestHeavyNewcomerClockIsBoundedPerEvict(t *testing.T) {
	for _, duel := range []bool{false, true} {
		t.Run(fmt.Sprintf("duel=%v", duel), func(t *testing.T) {
			const capacity = 1000
			p := &S3[int, int]{}
			p.Init(capacity, false, sketch.New(capacity), hash)
			p.reused()
			for k := range capacity {
				add(p, newEntry(k, 1))
			}
			var all []*entry
			p.main.Each(func(e *entry) { all = append(all, e) })
			p.small.Each(func(e *entry) { all = append(all, e) })
			for _, e := range all {
				e.SetFreq(freqMask)
			}
			rounds := 0
			clockRound = func(e any) { // a reader that never stops
				rounds++
				e.(*entry).SetFreq(freqMask)
			}
			defer func() { clockRound = nil }()
			heavy := newEntry(-1, capacity*9/10)
			held := p.Len()
			if duel {
				// Rated far above the residents, so that it wins.
				for range 20 {
					p.sketch.Add(hash(heavy.Key))
				}
				p.Add(heavy, hash(heavy.Key))
				p.Evict(0, nil, nil)
			} else {
				add(p, heavy)
			}
			if want := (freqMask+1)*(held+1) + 1; rounds > want { // the newcomer counts among the entries held
				t.Errorf("one Evict sent %d entries round the CLOCK for a newcomer of weight %d; want at most %d", rounds, heavy.Weight, want)
			}
			if p.Weight() > capacity || heavy.Dead() {
				t.Errorf("weight %d (bound %d), the newcomer dead: %v", p.Weight(), capacity, heavy.Dead())
			}
		})
	}
}
