// Package shard is one shard of a ufocache.Cache: a lock-free index, the
// S3-FIFO queues and the admission sketch, with a lock for writers.
//
// Readers call Find without any lock. Writers (Set, Delete, Clear) hold the
// shard's mutex; they publish entries to the index only after the entry is
// complete, and never modify the fields a reader reads (key, value,
// expiry) of a published entry, only its frequency, queue flags (atomically,
// in the same word) and queue links (which readers do not read), so a
// reader sees either the old or the new entry, never a torn one.
package shard

import (
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/ufocache/ufocache/fifo"
	"github.com/ufocache/ufocache/sketch"
	"golang.org/x/sys/cpu"
)

// Reason says why an entry left.
type Reason uint8

const (
	Capacity Reason = iota + 1 // evicted for room
	Expired                    // its TTL passed
	Deleted                    // Delete or Clear
	Replaced                   // a later Set of the key
	Rejected                   // a Set that did not store its value
)

func (r Reason) String() string {
	switch r {
	case Capacity:
		return "capacity"
	case Expired:
		return "expired"
	case Deleted:
		return "deleted"
	case Replaced:
		return "replaced"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Evicted is an entry that left, reported to OnEvict after the lock is
// released.
type Evicted[K comparable, V any] struct {
	Key    K
	Val    V
	Reason Reason
}

// report appends to out, which is nil when nobody listens.
func report[K comparable, V any](out *[]Evicted[K, V], k K, v V, r Reason) {
	if out != nil {
		*out = append(*out, Evicted[K, V]{k, v, r})
	}
}

// Stats are a shard's counters.
type Stats struct {
	Sets, Rejections, Evictions, Expirations uint64
	Len                                      int
	Weight                                   int64
}

// Shard must be initialised with Init before use. Shards are laid out in an
// array: the padding at both ends keeps neighbours' writes off this shard's
// read-mostly line (the index's table pointer).
//
// The field order is a performance contract (TestLayout checks it). A
// shard's mutable state is written by Sets from every core, so each cache
// line a Set writes is pulled from the core that wrote it last: a Set of a
// resident key writes one of the shard's lines, an insert three, and one
// that evicts at least a fourth (the evictions count, with the counters
// only some Sets write: line 3 has no room left beside the sketch's growth
// state; a sampled eviction also writes a ghost's count). The
// groups hold whether the array of shards starts on a line or 8 bytes into
// one (the allocator's header for arrays from 1 KiB to 32 KiB).
type Shard[K comparable, V any] struct {
	_   cpu.CacheLinePad
	idx index[K, V] // the table pointer's line, then the live and removed counts

	// Line 2, written by every Set.
	mu     sync.Mutex
	sets   uint64
	sketch sketch.Sketch // its counters first; the rest changes when it resizes or grows
	// Line 3, written by every insert (length and weight are atomics so
	// that Len and Weight need no lock).
	length atomic.Int64
	weight atomic.Int64
	policy fifo.S3[K, V] // the small queue here, the main queue partly on line 4

	// Written by some Sets.
	ttlEntries  int    // entries with an expiry, for the sweep
	sweep       uint64 // next index group the expiry sweep visits
	evictions   uint64 // by inserts into a full shard: their fourth line
	rejections  uint64
	expirations uint64
	scratch     []fifo.Gone[K, V]

	// Set by Init, and by Resize under the lock.
	capacity int64
	// heaviest is the weight above which an entry is declined; atomic
	// since Set reads it before it takes the lock (and store again
	// under it, where a Resize may have lowered it meanwhile).
	heaviest atomic.Int64
	unit     bool // every entry weighs 1
	filled   bool // the shard overflowed since Init or Clear
	hash     func(K) uint64
	keep     int64 // see Init
	// sketchSize is the sketch's size as Init (or Resize) made it, which
	// Clear restores. It also fills the shard's last line: with the
	// padding at the top, the next shard's writes stay off these lines.
	sketchSize sketch.Size
}

// weightedSketchRoom is the keys a weighted shard's sketch has room for
// per entry it holds: its entries are counted as they arrive (the weight
// bound says nothing of their number), and with room for one key each the
// sketch conflated the keys the shard is offered, as a unit shard's did
// with its room shared out (see ufocache.New). Room for two (8 bytes per
// entry, Caffeine's density; the aging still halves the counts once per
// 10 increments per entry) gained cloudphysics's byte hit ratio at 160/320/640 MiB
// 0.5-0.8/2.0-2.1/0.8 pp (policy suite, 8 replays, two runs); for four,
// 0.1-0.2 more (TestWeightedSketchRoom: one shard of about 8000 objects,
// 22.26% -> 23.22%).
var weightedSketchRoom = 2 // a test changes it to measure what it is worth

// maxIndexBound is the largest entry bound a unit shard's index is sized
// by; a larger capacity leaves the index unbounded, as a weighted shard's
// is. It fits an int on every platform: converting a larger capacity
// truncated it on 32-bit ones (1<<32+100 became 100, and a table capped
// at 126 slots then filled up, and inserts and look-ups spun for ever).
const maxIndexBound = min(1<<40, math.MaxInt/4)

// Init empties the shard and bounds it to capacity units of weight. unit
// says every entry weighs 1, so capacity is also the entry bound.
//
// hash must be the function the caller hashes keys with: the shard
// recomputes hashes with it rather than storing them in entries.
// keep is how long after expiry the sweep and DeleteExpired leave an
// entry for stale reads.
//
// sketchKeys sizes the admission sketch up front; it doubles as the
// shard's entries outgrow it. sketchMin is its least size, even for a
// smaller shard: the sketch counts the keys the shard is offered, not only
// those it holds.
//
// expect is how many entries the shard is expected to hold (0: no hint):
// its index starts with room for them (within capacity, if unit), and a
// weighted shard's sketch is sized for them within sketchKeys, so that
// neither doubles below that many entries.
func (s *Shard[K, V]) Init(capacity int64, unit bool, hash func(K) uint64, keep int64, sketchKeys, sketchMin, expect int) {
	s.hash, s.keep = hash, keep
	s.idx.hash = hash
	s.capacity, s.unit, s.filled = capacity, unit, false
	s.heaviest.Store(capacity)
	maxEntries := 0 // no bound on the index: it grows with the entries
	if unit && capacity <= maxIndexBound {
		maxEntries = int(capacity)
	}
	expect = min(max(expect, 0), maxIndexBound)
	s.idx.init(maxEntries, expect)
	if !unit {
		// Room for weightedSketchRoom keys per expected entry, within
		// sketchKeys, aging for the entries; with no hint the entry count
		// is unknown: it grows with them.
		sketchMin = max(sketchMin, min(sketchKeys, expect*weightedSketchRoom))
		sketchKeys = min(sketchKeys, max(1024, expect))
	}
	s.sketch.Resize(sketchFor(capacity, sketchKeys), sketchMin)
	s.sketchSize = s.sketch.Size()
	s.policy.Init(capacity, unit, &s.sketch, hash)
}

// sketchFor returns the keys Init sizes a unit shard's sketch for.
func sketchFor(capacity int64, sketchKeys int) int {
	return int(min(capacity, int64(max(sketchKeys, 1))))
}

// Resize bounds the shard to capacity units of weight and declines
// entries heavier than limit (at most capacity) from now on, evicting
// what the policy chooses, in its order, until the shard fits; what left
// is appended to out unless it is nil. The small queue keeps its share of
// the capacity (fifo's SetCapacity); a larger capacity fills as the first
// did; the index is bounded anew (a unit shard's), and rebuilt smaller at
// once (under the lock: readers keep the old table until the swap) where
// it has more than twice the room it needs (see index.bound); a unit
// shard's sketch, if Init would size it differently for the new capacity,
// starts afresh at that size (sketchKeys and sketchMin are Init's). A
// weighted shard's sketch keeps its size.
func (s *Shard[K, V]) Resize(capacity, limit, now int64, sketchKeys, sketchMin int, out *[]Evicted[K, V]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.capacity
	s.capacity = capacity
	s.heaviest.Store(min(limit, capacity))
	s.policy.SetCapacity(capacity, s.unit)
	if capacity > old {
		// Filled again as at first: its next overflow starts the sketch
		// afresh, as store's first does (2000 entries grown to 20,000 on
		// Zipf 1.05 traffic, 200k requests later: 83.15% -> 83.62% hits,
		// one made at 20,000 84.2%; TestSetMaxWeightKeepsThePolicyWorking).
		s.filled = false
	}
	if !s.filled && s.policy.Weight() > capacity {
		s.filled = true // see store's first overflow
		s.sketch.Reset()
	}
	s.evict(now, nil, out)
	most := 0 // the entries the shard can hold: at most its capacity
	if capacity <= maxIndexBound {
		most = int(capacity)
	}
	maxEntries := 0 // a weighted shard's index has no bound
	if s.unit {
		maxEntries = most
	}
	s.idx.bound(maxEntries, most)
	if s.unit {
		if n := sketchFor(capacity, sketchKeys); n != sketchFor(old, sketchKeys) {
			s.sketch.Resize(n, sketchMin)
			s.sketchSize = s.sketch.Size()
		}
	}
	s.publish()
}

// SharePool makes the shard's policy tune with m, which the other shards
// of its cache share (see fifo.Pool); Clear keeps it.
func (s *Shard[K, V]) SharePool(m *fifo.Pool) { s.policy.SharePool(m) }

// Find returns the entry of k, expired or not, or nil. It takes no lock:
// this is the read path. Its helpers are spelled out inline: a generic
// function instantiated in another package does not inline this package's
// non-generic helpers (seen with go1.26 -gcflags=-m), and a call per probe
// step cost more than the probe.
func (s *Shard[K, V]) Find(k K, h uint64) *fifo.Entry[K, V] {
	t := s.idx.t.Load()
	tag := uint64(uint8(h>>32) | 0x80)                // tagOf
	g := (h & 0xffffffff) * t.n >> 32                 // home
	bin := ovfShift + uint(h>>40)%(8/binBits)*binBits // binShift
	for probed := uint64(0); probed < t.n; probed++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		x := ctrl ^ (lsb * tag) // matchByte
		for m := (x - lsb) &^ x & msb; m != 0; m &= m - 1 {
			i := bits.TrailingZeros64(m) >> 3
			// The 7-bit tag already filtered out 127 in 128 strangers.
			if e := grp.slots[i].Load(); e != nil && e.Key == k {
				return e
			}
		}
		if ctrl>>bin&ovfMax == 0 { // overflow: no entry of k's bin passed this group
			return nil
		}
		if g++; g == t.n {
			g = 0
		}
	}
	return nil // every group overflowed: the whole table was probed
}

// LimitEntryWeight declines entries heavier than w (at most the capacity,
// which is the limit Init sets): a Cache whose shards differ by one unit
// of capacity declines the same entries in all of them. Like Init, it is
// called before the shard is shared: Set reads the limit before it takes
// the lock.
func (s *Shard[K, V]) LimitEntryWeight(w int64) {
	s.heaviest.Store(min(w, s.capacity))
}

// Set stores k=v with hash h, weight w (>= 1) and expiry expire (0: never,
// < 0: already expired) at time now, then evicts what the policy chooses
// until the shard fits; the new entry itself is never chosen. It reports
// whether the value was stored: false only for a negative expiry, a
// weight above the shard's limit (see LimitEntryWeight), or a key not equal to itself, which
// also remove any older value of k. Everything that left, a declined value
// included, is appended to out unless out is nil.
func (s *Shard[K, V]) Set(k K, v V, h uint64, w uint32, expire, now int64, out *[]Evicted[K, V]) bool {
	e := s.entry(k, v, w, expire) // allocated before taking the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store(k, v, e, h, w, now, s.Find(k, h), out)
}

// entry returns a new entry of k=v, or nil if it cannot be stored: a
// negative expiry, a weight above the shard's limit, or a key not equal
// to itself (NaN, or a struct or interface holding one), which can never
// be found and hashes differently on every call, so that its entry could
// not be located to be removed (remove would never return).
func (s *Shard[K, V]) entry(k K, v V, w uint32, expire int64) *fifo.Entry[K, V] {
	if self := k; self != k || expire < 0 || int64(w) > s.heaviest.Load() {
		return nil
	}
	return &fifo.Entry[K, V]{Key: k, Val: v, Expire: expire, Weight: w}
}

// SetIfAbsent is Set unless k has an entry live at now: it then leaves it,
// records a read of it, and returns its value and false. Otherwise it
// returns v and Set's answer (the zero value if that is false). The
// lookup and the store are under one hold of the lock.
func (s *Shard[K, V]) SetIfAbsent(k K, v V, h uint64, w uint32, expire, now int64, out *[]Evicted[K, V]) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Find(k, h)
	if old != nil && !old.ExpiredAt(now) {
		old.Touch()
		return old.Val, false
	}
	// Allocated under the lock, unlike Set's: a value found costs nothing.
	if !s.store(k, v, s.entry(k, v, w, expire), h, w, now, old, out) {
		var zero V
		return zero, false
	}
	return v, true
}

// Op is what Compute does with a key once its function returns.
type Op uint8

const (
	Keep   Op = iota // leave the key as it is
	Store            // store the function's value
	Remove           // remove the key's entry
	// Update is the cache's: Cache.Compute turns it into Store with the
	// expiry it keeps, so a shard never sees it.
	Update
)

// Compute calls f under the lock with k's value and its expiry, if k has
// an entry live at now(its expiry) (found is false otherwise, and old V's
// zero value and 0; now is called only for an entry that expires), and
// does what f's op says: Keep leaves the entry (a live one records a
// read) and returns its value, if live; Store stores v with weight w and
// expiry expire, judging victims at at, as Set does, and returns v and
// Set's answer; Remove removes k's entry, expired or not (reported
// Deleted). Only Keep of a live entry and a stored value return true. A
// panic in f leaves the shard as it was.
func (s *Shard[K, V]) Compute(k K, h uint64, now func(expire int64) int64, f func(old V, found bool, oldExpire int64) (v V, w uint32, expire, at int64, op Op), out *[]Evicted[K, V]) (V, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Find(k, h)
	live := old != nil && (!old.Expires() || !old.ExpiredAt(now(old.Expire)))
	var cur, zero V
	var curExpire int64
	if live {
		cur, curExpire = old.Val, old.Expire
	}
	v, w, expire, at, op := f(cur, live, curExpire)
	switch op {
	case Store:
		if !s.store(k, v, s.entry(k, v, w, expire), h, w, at, old, out) {
			return zero, false
		}
		return v, true
	case Remove:
		if old != nil {
			s.remove(old, Deleted, out)
		}
		return zero, false
	}
	if live {
		old.Touch()
	}
	return cur, live
}

// store is Set under the lock: e is k's new entry (nil if it cannot be
// stored) and old the entry k has, if any.
func (s *Shard[K, V]) store(k K, v V, e *fifo.Entry[K, V], h uint64, w uint32, now int64, old *fifo.Entry[K, V], out *[]Evicted[K, V]) bool {
	if e == nil || int64(w) > s.heaviest.Load() { // a Resize since Set's look
		if old != nil {
			s.remove(old, Replaced, out)
		}
		s.rejections++
		report(out, k, v, Rejected)
		return false
	}
	after := s.policy.Weight() + int64(w)
	if old != nil {
		after -= int64(old.Weight)
	}
	if !s.filled && after > s.capacity {
		// The shard overflows for the first time (by a new key, or by a
		// heavier value of one): the counts the sketch gathered while it
		// filled describe a cold cache's traffic (a warm-up, often
		// another phase), so it starts afresh, as Caffeine's sketch only
		// starts counting at half full. Policy suite, 8
		// seeds: mean 52.33 -> 52.38, cloudphysics at 4k-16k entries
		// +0.5 to +0.65 pp, multi2 +0.35, gli at 1000 +0.3, zig-zags
		// -0.26 (TestSketchStartsAfreshOnFirstOverflow).
		// The residents then count 0; on a zig-zag the first sweep's
		// newcomers lost their duels to them and, seen twice on their
		// way back, evicted them just before the sweep reached them:
		// most of the zig-zags' shortfall against LRU. Counting each
		// resident once here and demanding the strict margin until
		// duel bets pay kept them (zig-zags +0.6 to +1.8 pp) but cost
		// cloudphysics at 4k-16k 2.0-3.5, gli at 1000 1.6, multi2 up
		// to 1.3: there the fill's residents are the ones to replace.
		// What tells the two apart is whether any key has come back
		// yet: until one does, the policy admits blind, as LRU would
		// (fifo's S3.blindAdmits; zig-zags +0.6 to +2.0 pp, the rest
		// within ±0.3).
		s.filled = true
		s.sketch.Reset()
	}
	if old != nil {
		// No sketch update: Replace counts the write in e's frequency,
		// as a read would be, which keeps the sketch's line (written by
		// every insert) out of a hot key's writes.
		// e's frequency and flags are set before the index publishes
		// it, so that no reader's Touch of e is overwritten. A reader
		// that found old before that may still Touch old: that read is
		// lost, a read ordered before this write, which counts as one.
		s.policy.Replace(old, e)
		s.idx.replace(old, e, h)
		s.countTTL(old, -1)
		report(out, old.Key, old.Val, Replaced)
	} else {
		s.sketch.Add(h)
		room := 1
		if !s.unit {
			room = weightedSketchRoom
		}
		if n := s.sketch.Capacity(); s.policy.Len()*room >= n && int64(n/room) < s.capacity {
			// It keeps its counts: a weighted shard's entries may outgrow
			// it after the first overflow (lighter entries replacing
			// heavier ones), when the counts are what the duels go by.
			// Its aging follows the entries it grew for.
			s.sketch.Grow(2 * n / room)
		}
		s.idx.add(e, h)
		s.policy.Add(e, h)
	}
	s.countTTL(e, 1)
	s.evict(now, e, out)
	s.sets++
	s.sweepStep(now, out)
	s.publish()
	return true
}

// evict removes what the policy chooses until the shard fits its
// capacity, never protect (the entry just stored, if not nil).
func (s *Shard[K, V]) evict(now int64, protect *fifo.Entry[K, V], out *[]Evicted[K, V]) {
	victims := s.policy.Evict(now, protect, s.scratch[:0])
	for _, g := range victims {
		victim := g.E
		s.idx.remove(victim, g.H)
		reason := Capacity
		if victim.ExpiredAt(now) {
			reason = Expired
			s.expirations++
		} else {
			s.evictions++
		}
		s.drop(victim, reason, out)
	}
	clear(victims)
	fifo.Reuse(&s.scratch, victims)
}

func (s *Shard[K, V]) countTTL(e *fifo.Entry[K, V], d int) {
	if e.Expires() {
		s.ttlEntries += d
	}
}

// remove takes a queued entry out of the index and the queues.
func (s *Shard[K, V]) remove(e *fifo.Entry[K, V], reason Reason, out *[]Evicted[K, V]) {
	s.removeHashed(e, s.hash(e.Key), reason, out)
}

// removeHashed is remove with e's key's hash h at hand.
func (s *Shard[K, V]) removeHashed(e *fifo.Entry[K, V], h uint64, reason Reason, out *[]Evicted[K, V]) {
	s.idx.remove(e, h)
	if reason == Expired {
		s.policy.RemoveExpired(e, h)
		s.expirations++
	} else {
		s.policy.Remove(e)
	}
	s.drop(e, reason, out)
	s.publish()
}

// publish stores the queues' entry count and weight for Len and Weight,
// writing only a change, once the entries an insert displaces are gone:
// counted as they came and went, Len showed one entry above the bound
// between an insert and its eviction.
func (s *Shard[K, V]) publish() {
	if n := int64(s.policy.Len()); n != s.length.Load() {
		s.length.Store(n)
	}
	if w := s.policy.Weight(); w != s.weight.Load() {
		s.weight.Store(w)
	}
}

func (s *Shard[K, V]) drop(e *fifo.Entry[K, V], reason Reason, out *[]Evicted[K, V]) {
	s.countTTL(e, -1)
	report(out, e.Key, e.Val, reason)
}

// sweepStep removes expired entries, so that they are reclaimed even when
// nothing reads them: it looks at the next sweepScan index groups'
// earliest expiries (table.due) and visits the first group where one is
// due (sweepVisits), removing the entries expired (beyond keep) for
// sweepGrace at least and noting the earliest expiry left. It used to
// visit the next group whatever it held, reading each of its entries, so a
// pass over the index took a Set per group: the expired entries waited
// longer the more the shard held, taking room live entries needed. Now
// the groups with nothing due cost a Set a look at 4 bytes each; a pass
// takes a Set per group with something due (TestSweepVisitsOnlyDueGroups:
// 2.7 times fewer Sets with a tenth of the entries expired), and a Set
// reads at most one group's entries, as before. Two visits per Set moved
// no hit ratio below by more than 0.04 pp.
//
// sweepGrace leaves an expired entry in place for a tick or so (eviction
// still takes it at once): a key that comes back soon after it expired
// finds it and is written over it in place, keeping its place and its
// frequency, as a read would have. perf's expiring workloads (8 replays,
// go -C perf run . -suite hitratio -traces expiring -runs 8) and a
// scratch replay (Zipf 1.01 over 1M keys, TTLs of 10-120 s, a request per
// 10 µs, 4 passes), hit ratios in percent, one session; the grace taken
// (1.07 s) as built, grace 0, 2.1 s and 8.6 s with two visits per Set:
//
//	                          sweep before       grace 0            1.07 s             2.1 s              8.6 s
//	ttl-mix @ 1k/10k/50k      56.34/69.51/76.30  56.26/69.58/76.45  56.34/69.56/76.43  56.42/69.54/76.43  56.42/69.44/76.39
//	ttl-short @ 10k/100k      32.69/48.69        32.66/48.84        32.76/48.76        32.79/48.69        32.80/48.34
//	scratch @ 65,536/16,384   80.92/71.10        80.63/71.04        81.16/71.38        81.22/71.39        81.26/71.41
//
// (otter v2, in the same runs: ttl-mix 55.0-55.4/69.5/76.47, ttl-short
// 31.6-31.7/48.9.) The grace trades the expired entries' room (ttl-short
// at 100k entries: cold keys, which never come back) for their places
// (the scratch replay's hot keys, which do).
func (s *Shard[K, V]) sweepStep(now int64, out *[]Evicted[K, V]) {
	if s.ttlEntries == 0 {
		return
	}
	t := s.idx.t.Load()
	// Entries expired by then are reclaimed; subtracted so that no keep
	// (up to MaxInt64: KeepExpired: NoExpiration) wraps it round.
	then := now - sweepGrace
	if t.due == nil || then <= s.keep {
		return
	}
	then -= s.keep
	limit := dueTick(then)
	visits := 0
	for range sweepScan {
		g := s.sweep % t.n
		s.sweep++
		if t.due[g] > limit {
			continue
		}
		next := uint32(math.MaxUint32)
		grp := &t.groups[g]
		for i := range grp.slots {
			switch e := grp.slots[i].Load(); {
			case e == nil || !e.Expires():
			case s.reclaimable(e, now-sweepGrace):
				s.remove(e, Expired, out)
				if s.idx.t.Load() != t {
					return // the removal finished a rebuild: t is no longer the index's
				}
			default:
				next = min(next, dueTick(e.Expire))
			}
		}
		t.due[g] = next
		if visits++; visits == sweepVisits {
			return
		}
	}
}

// sweepScan, sweepVisits and sweepGrace: see sweepStep.
const (
	sweepScan   = 32
	sweepVisits = 1
	sweepGrace  = 1 << dueShift
)

// reclaimable reports whether e expired more than keep ago.
func (s *Shard[K, V]) reclaimable(e *fifo.Entry[K, V], now int64) bool {
	return e.ExpiredAt(now) && now-e.Expire >= s.keep
}

// Expire makes k's entry, if it is live at now, expire at at (0 < at <=
// now), keeping its value for stale reads, and reports whether it was
// live. The entry is replaced by a copy with the new expiry (readers hold
// entries without a lock: a published entry's expiry is never written),
// and the replacement is reported to no one, since the value stays.
// Nothing is evicted: the weight is the same.
func (s *Shard[K, V]) Expire(k K, h uint64, at, now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Find(k, h)
	if old == nil || old.ExpiredAt(now) {
		return false
	}
	e := &fifo.Entry[K, V]{Key: old.Key, Val: old.Val, Expire: at, Weight: old.Weight}
	s.policy.Swap(old, e)    // no read: an expired entry gains no frequency
	s.idx.replace(old, e, h) // after e's flags are set, as in Set
	s.countTTL(old, -1)
	s.countTTL(e, 1)
	return true
}

// Delete removes k and returns its entry, or nil.
func (s *Shard[K, V]) Delete(k K, h uint64, out *[]Evicted[K, V]) *fifo.Entry[K, V] {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.Find(k, h)
	if e != nil {
		s.remove(e, Deleted, out)
	}
	return e
}

// DeleteExpired removes every entry expired at least keep before now. It
// reads the index without the lock, as readers do, and takes the lock only
// to copy the next deleteChunk groups' earliest expiries (table.due) and
// to remove what it found, deleteBatch entries at a time (each key's entry
// judged again: a Set may have replaced it since): so Sets of the shard
// wait for a copy or a batch's removals at most, not for the scan, and the
// scan reads the entries of those groups only whose noted earliest expiry
// (a lower bound, in ticks of about a second) is at or before now - keep.
//
// Holding the lock for a scan of every entry (0.9 ms for a shard of 32k
// entries, 4.2 ms at 131k, on 2 cores), it made the 99.99th percentile of
// Sets on another core 6.6-7.7 ms with no entry expired and 34-42 ms with
// a tenth expired; scanning without it, 72-107 µs and 0.44-0.98 ms
// (BenchmarkSetDuringDeleteExpired: a cache of 4M entries with a TTL, 5
// scans, two runs of each build; the slowest Set, 7-44 ms either way, is
// the collector's: with GOGC=off, 9-17 ms before and 3.5-6.5 ms after).
// Reading only the due groups took the whole call from 218-228 ms to
// 2.2-2.9 ms with no entry expired, and from 320-396 ms to 195-208 ms with
// a tenth expired, where the 400k removals weigh most (same benchmark, its
// ns/op, two runs of each build; Sets' p99.99 there 0.1-1.6 ms and
// 0.4-1.9 ms, noisy).
//
// With a Hasher that is not a function of the key, the check that an
// entry is still held may miss it (a lookup by its key's new hash), and
// DeleteExpired leaves it to the sweep and eviction, which find it by its
// pointer.
func (s *Shard[K, V]) DeleteExpired(now int64, out *[]Evicted[K, V]) {
	if now <= s.keep { // nothing expired keep ago: expiries are positive
		return
	}
	limit := dueTick(now - s.keep)
	var batch []*fifo.Entry[K, V]
	flush := func() {
		if len(batch) == 0 {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, e := range batch {
			// The key's entry now, judged again: a Set may have replaced
			// e by a live value, which stays; an Expire, by a copy that
			// expired earlier still, which goes as e would have (looking
			// for e itself left that copy behind, expired keep ago at
			// every point of the call).
			h := s.hash(e.Key)
			if cur := s.Find(e.Key, h); cur != nil && s.reclaimable(cur, now) {
				s.removeHashed(cur, h, Expired, out)
			}
		}
		clear(batch)
		batch = batch[:0]
	}
	// The table of the call's start holds every entry present then, and
	// its notes are true for them, even once a rebuild has moved the index
	// on to a new table (from then on the old one no longer changes).
	t := s.idx.t.Load()
	var buf [deleteChunk]uint32
	notes := buf[:0]
	for g := uint64(0); ; {
		s.mu.Lock()
		if s.ttlEntries == 0 || t.due == nil || g >= t.n {
			s.mu.Unlock()
			break
		}
		end := min(g+deleteChunk, t.n)
		notes = append(notes[:0], t.due[g:end]...)
		s.mu.Unlock()
		for i, d := range notes {
			if d > limit {
				continue
			}
			grp := &t.groups[g+uint64(i)]
			for j := range grp.slots {
				e := grp.slots[j].Load()
				if e == nil {
					continue
				}
				if scanned != nil {
					scanned(e)
				}
				if s.reclaimable(e, now) {
					if batch = append(batch, e); len(batch) == deleteBatch {
						flush()
					}
				}
			}
		}
		g = end
	}
	flush()
}

// DeleteFunc removes the entries for which del returns true, expired or
// not, and returns how many it removed (appended to out, reported
// Deleted, unless out is nil). It reads the index without the lock and
// calls del without it, and takes the lock to remove what del chose,
// deleteBatch entries at a time, each only if it is still its key's
// entry: one a Set replaced since, or Expire copied, stays. A panic in
// del leaves its batch in place; what was removed before it is in out.
func (s *Shard[K, V]) DeleteFunc(del func(k K, v V) bool, out *[]Evicted[K, V]) int {
	n := 0
	var batch []*fifo.Entry[K, V]
	flush := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, e := range batch {
			h := s.hash(e.Key)
			if s.Find(e.Key, h) == e {
				s.removeHashed(e, h, Deleted, out)
				n++
			}
		}
		clear(batch)
		batch = batch[:0]
	}
	for _, e := range s.Snapshot() {
		if del(e.Key, e.Val) {
			if batch = append(batch, e); len(batch) == deleteBatch {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return n
}

// deleteChunk: see DeleteExpired.
const deleteChunk = 4096

// deleteBatch: see DeleteExpired.
const deleteBatch = 64

// scanned, if not nil, is called with each entry DeleteExpired's scan
// visits, before the scan looks at it: a test's stand-in for a concurrent
// Set.
var scanned func(any)

// Clear removes every entry; they are appended to out unless it is nil.
func (s *Shard[K, V]) Clear(out *[]Evicted[K, V]) {
	// The new index table is made outside the lock: presized (Init's
	// expect), it may be large. And a sketch that grew gets its table back
	// at Init's size, made outside the lock too (up to 16 MiB over the
	// shards). The sizes are read under the lock, since Resize changes
	// them; a Resize or Grow between the look and the Clear costs only a
	// table made under the lock.
	s.mu.Lock()
	slots, size := s.idx.minSlot, s.sketchSize
	grown := s.sketch.Grown(size)
	s.mu.Unlock()
	t := newTable[K, V](slots)
	var sk []uint64
	if grown {
		sk = size.Table()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slots != s.idx.minSlot {
		t = newTable[K, V](s.idx.minSlot)
	}
	if size != s.sketchSize {
		sk = nil
	}
	if out != nil {
		s.idx.each(func(e *fifo.Entry[K, V]) { report(out, e.Key, e.Val, Deleted) })
	}
	s.policy.Init(s.capacity, s.unit, &s.sketch, s.hash)
	s.sketch.Restore(s.sketchSize, sk) // as Init left it: its counts go at the first overflow anyway
	s.scratch = nil
	s.filled = false
	s.idx.reset(t)
	s.weight.Store(0)
	s.length.Store(0)
	s.ttlEntries = 0
}

// Snapshot returns the entries present now, without a lock.
func (s *Shard[K, V]) Snapshot() []*fifo.Entry[K, V] {
	var es []*fifo.Entry[K, V]
	s.idx.each(func(e *fifo.Entry[K, V]) { es = append(es, e) })
	return es
}

// Len returns the number of entries.
func (s *Shard[K, V]) Len() int { return int(s.length.Load()) }

// Weight returns the total weight.
func (s *Shard[K, V]) Weight() int64 { return s.weight.Load() }

// GroupsRead returns how many index groups a Find of k (hash h) reads to
// reach its entry, 1 for an entry in its home group, or 0 if k is absent:
// how far from home the index placed k. For tests and benchmarks, on a
// shard no Set is changing.
func (s *Shard[K, V]) GroupsRead(k K, h uint64) int {
	e := s.Find(k, h)
	if e == nil {
		return 0
	}
	t := s.idx.t.Load()
	for g, n := home(h, t.n), uint64(1); n <= t.n; n++ {
		for i := range t.groups[g].slots {
			if t.groups[g].slots[i].Load() == e {
				return int(n)
			}
		}
		if g++; g == t.n {
			g = 0
		}
	}
	return 0 // unreachable: Find found e in this table
}

// SketchKeys returns the number of keys the admission sketch has room for.
func (s *Shard[K, V]) SketchKeys() int { return s.sketch.Capacity() }

// IndexSlots returns the slots of the index's table (the one readers use).
func (s *Shard[K, V]) IndexSlots() int { return int(s.idx.t.Load().n) * groupSlots }

// Stats returns the shard's counters.
func (s *Shard[K, V]) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Sets: s.sets, Rejections: s.rejections, Evictions: s.evictions, Expirations: s.expirations,
		Len: s.Len(), Weight: s.Weight(),
	}
}
