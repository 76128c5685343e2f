// Package ufocache is a bounded, concurrent, in-process memory cache with
// read-through loading, built for the hot paths of proxies, load balancers
// and DNS resolvers.
//
// A [Cache] hashes each key once (seeded, so clients cannot aim their keys
// at one shard) and sends it to one of several cache-line-padded shards.
// Each shard keeps a lock-free index, S3-FIFO queues (a small probationary
// queue and a main queue) and a count-min sketch that decides whether a
// newcomer may displace the entry the queues would evict. Reads take no lock
// and, in the common case, write no shared memory: a hit only saturates a
// 2-bit frequency on the entry itself. Writes take the shard's lock; the
// weight bound is strict (after Set returns, Weight() <= MaxWeight) and no
// write is dropped silently: Set reports whether it stored the value.
//
// An [RTCache] adds read-through loading: concurrent callers of a missing key
// share one load.
//
// # Eviction policy
//
// A new key enters the small queue. While main has room, the small queue
// keeps to its share and its heads move on to main. An entry read there
// goes round it again (a CLOCK, where W-TinyLFU's window is an LRU); an
// unread one, once main is full, duels with the entries main would evict
// next and enters only if the sketch rates it above them by a margin (a narrow loser is
// counted once more, so it gets in if it comes back soon; and a key that
// lost and came back may enter without its duel, S3-FIFO's ghost
// admission, while such admissions keep paying off: each bets that the
// newcomer is read before its victim comes back; newcomers that win
// their duels bet too, and while those bets stop paying the duel demands a
// wider margin). Main evicts
// with CLOCK on the 2-bit frequencies, which are folded into the sketch as
// the policy consumes them, so the sketch learns from hits without a write
// on Get. The small queue's share (0.1%, or 0.5% with a Weigher, to 90%)
// starts at 5%, or at the first overflow at 40% of the share of entries
// read in small while the cache filled, if that is more; it then adapts
// on misses, ARC-style: a key back soon after leaving small grows it, one
// back from main shrinks it; growth is damped while few entries are read
// in small or few newcomers win their duels, which keeps loops and zig-zag
// scans from inflating it, and while one ghost draws most of the hits, a
// run of its hits doubles the step (up to eight times), so that the share
// follows a working set that moved (small's hits and runs are counted over
// all the shards, which such a move reaches at once). Each shard's sketch
// counts every key the shard is offered, often many times the entries it
// holds, so it has room for
// at least 4K keys however few entries the shard holds (a weighted shard's,
// for two keys per entry it holds), where the shard's bound is 1024 units
// or more, as the automatic shard count makes it up to 64 cores (the
// sketches share a budget of 4M keys, so beyond 1024 shards each gets
// less: 2048 keys in each of the 2048 shards of 128 cores); a smaller
// shard gets four keys per unit, or 4K shared out over the shards, if that
// is more. The sketch ages by halving one word at a time;
// duels compare rates corrected for where each key's counters are in that
// cycle.
// It starts afresh when its shard first overflows: what it counted while
// the cache filled describes a cold cache's traffic. Until some key is
// seen again after that (a read the policy finds, or evicted keys coming
// back), every key was seen once and a duel has nothing to go by, so
// newcomers enter main without one and displace residents in CLOCK order,
// as LRU would (for at most 8 times the capacity).
//
// # Time to live
//
// Every entry has a time to live (TTL):
//
//   - ttl > 0: the entry expires ttl after it was set. [NoExpiration] (the
//     largest Duration) means it never expires.
//   - ttl == 0 in SetWithTTL and ForceSet: use Options.DefaultTTL, which in
//     turn defaults to NoExpiration.
//   - ttl < 0: the value is already expired. It is not stored, any older
//     value of the key is removed, and SetWithTTL returns false.
//
// Expired entries are never returned by Get and never gain frequency from
// reads (a Set over one replaces it as it would a live entry: the new
// value keeps the key's frequency, plus one for the write). Their memory
// is reclaimed when eviction meets them (it drops an expired entry
// it reaches at once, with no second chance and no duel, but does not
// search for them: a full cache may evict a live entry while an expired
// one waits further along its queue), by an incremental sweep that every
// Set that stores advances a little (it visits only the index groups
// whose earliest expiry has passed, and takes an entry about a second
// after its expiry, plus KeepExpired, so that a key set again at once is
// written over it in place), and by [Cache.DeleteExpired];
// Options.KeepExpired holds them back from the latter two for stale
// reads. A key whose entry expired after it had reached main (or been
// read) and was reclaimed returns to main, not the small queue, when it is
// set again, much as a Set over the expired entry would have kept it:
// expiry is the origin's decision, not the policy's.
// The cache remembers about its entries' worth of such keys, in a filter
// that takes about one other key in 200 for one of them.
//
// Without an injected clock, time is read from a coarse clock that ticks
// every millisecond, so a read need not call the system's clock; it reads
// the exact time instead for an entry within 50 ms of its expiry by the
// coarse clock, which falls behind by more than a tick only while every P
// is busy, and each exact reading (a write with a TTL, a load, a read near
// an expiry) catches it up. So an entry lives at least its TTL and at most
// about a millisecond more, unless the coarse clock fell more than 50 ms
// behind since the last such reading, and then by as much more as that.
package ufocache

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache/fifo"
	"github.com/ufocache/ufocache/internal/clock"
	"github.com/ufocache/ufocache/internal/hashing"
	"github.com/ufocache/ufocache/shard"
)

// NoExpiration as a TTL means the entry never expires.
const NoExpiration time.Duration = math.MaxInt64

// Status says where a value came from.
type Status uint8

const (
	// Miss: the key was not in the cache.
	Miss Status = iota
	// Hit: the key was in the cache and had not expired.
	Hit
	// Expired: the key was in the cache but its TTL had passed.
	Expired
	// LockHit (RTCache only): this caller waited for another caller's
	// load (or took what such a load, or a write, had just stored) rather
	// than start one. With a nil error the value is the one that load
	// returned (or a write just before stored): stored too, unless a write
	// of the key detached the load, a newer load took the key over and
	// stored or finished first (RTOptions.LockAge), its TTL was negative, or it was too heavy to
	// store (see Options.Weigher); with an
	// error, the load failed, or this caller stopped waiting
	// (ErrLockTimeout, its ctx's error).
	LockHit
	// Stale (RTCache only): an expired value was returned on purpose, within
	// the caller's stale allowance.
	Stale
)

func (s Status) String() string {
	switch s {
	case Miss:
		return "miss"
	case Hit:
		return "hit"
	case Expired:
		return "expired"
	case LockHit:
		return "lock-hit"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// EvictReason says why an entry left the cache; see Options.OnEvict.
type EvictReason = shard.Reason

const (
	// EvictCapacity: removed to make room for another entry.
	EvictCapacity = shard.Capacity
	// EvictExpired: removed because its TTL had passed.
	EvictExpired = shard.Expired
	// EvictDeleted: removed by Delete or Clear.
	EvictDeleted = shard.Deleted
	// EvictReplaced: a Set of the same key replaced it (also a Set with a
	// negative TTL, or one too heavy to store, which removes the old value).
	EvictReplaced = shard.Replaced
	// EvictRejected: a Set (or a Compute's store) declined it because it
	// can never be stored (too heavy, a negative TTL, or a key not equal
	// to itself); or an RTCache's Loader (or BatchLoader) returned it
	// without an error and no store took it (a write detached the load,
	// a newer load stored first after LockAge, or it came past
	// LoadTimeout). The callback receives the key and value that were not
	// stored: each value that enters through the cache either stays or is
	// told, so one whose resources OnEvict releases is never lost. Callers
	// of the load may still hold it.
	EvictRejected = shard.Rejected
)

// Clock is a source of time for expiry; inject one in tests.
// Nanotime returns nanoseconds since an arbitrary fixed origin (any value,
// 0 and negative ones included) and must never go backwards.
type Clock interface {
	Nanotime() int64
}

// Options configures a Cache. The zero value of every field but MaxWeight
// means its documented default.
type Options[K comparable, V any] struct {
	// MaxWeight bounds the total weight of the entries. Required, > 0.
	// With no Weigher every entry weighs 1, so MaxWeight is an entry count.
	// Each shard holds its share, MaxWeight/Shards (see Shards), so a
	// shard its keys fill first evicts while others still have room (a
	// cache given MaxWeight distinct keys held about 0.2% fewer at 1M
	// entries in 32 shards, about 0.5% fewer at 4096 entries in 2, and
	// about 1% fewer at 65,536 entries in 32 and at 1M in 512, the count
	// GOMAXPROCS 32 gave before shards were kept to 4096 entries beyond
	// 32; it now gives 256).
	MaxWeight int64
	// Weigher returns an entry's weight. A result of 0 counts as 1. An entry
	// heavier than one shard's share of MaxWeight (MaxWeight/Shards) is
	// declined, and one that leaves its shard less room than the next new
	// key of the shard needs is evicted by it. With Shards 0 the count
	// follows GOMAXPROCS (see Shards), so the same cache may keep a value
	// on one machine and decline it on one with more cores: where single
	// values may weigh more than about MaxWeight/(2·GOMAXPROCS), set
	// Shards. Called once per Set, before any lock is taken (by Compute,
	// under the shard's lock, for the value its function stores: a
	// Weigher that calls the cache must not be used with Compute). A
	// weight is a uint32: a byte count of 4 GiB or more must be clamped
	// to math.MaxUint32, not converted, which would wrap it to a small
	// weight.
	Weigher func(K, V) uint32
	// DefaultTTL is the TTL of entries set without one (Set, or a TTL of 0).
	// 0 means NoExpiration; negative is an error.
	DefaultTTL time.Duration
	// KeepExpired is how long past its expiry an entry stays available to
	// GetStale (and to RTCache's stale reads) before the incremental sweep
	// and DeleteExpired reclaim it. Eviction under capacity pressure still
	// drops the expired entries it reaches, held back or not, before any
	// live one, but it does not search for them (see the package doc). 0
	// (the default) reclaims at expiry (DeleteExpired; the sweep, about a
	// second later); negative is an error.
	KeepExpired time.Duration
	// InitialCapacity is how many entries the cache is expected to hold
	// (0: no hint). Each shard's index starts with room for its share (and
	// four standard deviations of it, for the spread of the hash), so
	// that no Set doubles an index below that many entries, and a weighted
	// cache's admission sketch is sized for them within its budget of 4M
	// keys (beyond that budget it still doubles as the entries arrive).
	// That memory is taken at New, and again by Clear: about 14 bytes per
	// entry of index, and 8 to 16 of sketch in a weighted cache (less
	// where the budget binds). It bounds nothing: the cache grows past it,
	// a unit cache up to MaxWeight. Negative, above MaxWeight (an entry
	// weighs at least 1) or above maxInitialCapacity (2^36, or 2^25-1 on
	// 32-bit platforms) is an error.
	InitialCapacity int
	// Shards is the number of shards, a power of two up to 1<<16 and up to
	// MaxWeight.
	// 0 chooses from GOMAXPROCS and capacity: 16 per P (rounded up to a
	// power of two), but never so many that a shard holds fewer than about
	// 1024 entries, or 4096 beyond 32 shards, since a small shard makes
	// the eviction policy worse (p3 at 400k entries lost 1.3 pp in 256
	// shards against 32). With a Weigher, whose units say nothing of the
	// entry count (a shard of 20 MB may hold only a few hundred objects),
	// at most one per P, rounded up to a power of two (4 for a GOMAXPROCS
	// of 3), and fewer where InitialCapacity, taken as the entry count,
	// calls for fewer by the rule above. Without InitialCapacity a
	// weighted cache gets its one per P however few objects each shard
	// then holds: with many Ps, give it InitialCapacity (byte hit ratio on
	// cloudPhysics at 160 MiB, about 4000 objects: 13.4% in 2 shards,
	// 12.1% in 16, 8.5% in 64, 13.2% at 64 Ps given InitialCapacity).
	Shards int
	// OnEvict, if set, is called after an entry leaves the cache, outside
	// any lock, on the goroutine whose call removed it. A panic in it
	// reaches that call's caller once the call's work is done and every
	// other entry it removed has been reported (the first panic, if
	// several did). It must not panic where nothing can recover: an RTCache stores a load on the load's
	// own goroutine when its caller may leave (a ctx that can end, a
	// LoadTimeout, a background refresh) and always for a MultiGet's
	// BatchLoader call, and a panic there ends the process.
	OnEvict func(key K, value V, reason EvictReason)
	// Hasher, if set, hashes keys instead of the default: seeded maphash for
	// string and other comparable keys, a seeded mixer for integer keys. It
	// must be a function of the key (equal keys, equal hashes): one that
	// is not costs hits, may keep a key twice, leaves expired entries
	// to the sweep and eviction rather than DeleteExpired, and may leave
	// an entry DeleteFunc chose in place (uncounted). Its hashes
	// go through a seeded bijection that spreads every bit over all 64, so
	// it need only avoid collisions, not mix (the identity is fine for
	// distinct integer IDs); keys whose hashes are equal still collide.
	// The cache calls it under a shard's lock too (eviction and removal
	// hash a key again rather than store its hash in the entry), so it
	// must not call the cache, and must not panic on a key it once hashed.
	// Keys are always compared in full, so a poor Hasher (many
	// collisions) costs speed, never correctness. A key not equal to itself
	// (a NaN, or a struct or interface holding one) is declined by Set. An
	// interface key holding a value that cannot be compared (a slice, map
	// or func) panics, as it would as a map key: the default hash panics
	// on it, and with a Hasher, Set does (a Get may miss first).
	Hasher func(K) uint64
	// rawHasher skips the spreading of Hasher's hashes: for tests that aim
	// a Hasher at the bits that pick the shard, the group and the tag.
	rawHasher bool
	// Clock, if set, replaces the coarse monotonic clock. Without one, a
	// cache made inside a testing/synctest bubble reads the bubble's time
	// (time.Now on every read that needs the time; no goroutine), and one
	// made outside keeps to real time wherever it is used (in bubble
	// after bubble; an RTCache over it is not to be shared by bubbles
	// running at once, whose callers would join each other's loads: see
	// the README). The coarse
	// clock is one goroutine for the process, running while any cache
	// uses it (it stops once they are all garbage collected): a leak
	// check at the end of a test that still holds a cache sees it, as
	// github.com/ufocache/ufocache/internal/clock.run, which it may ignore.
	Clock Clock
	// RecordStats enables the Hits and Misses counters of Stats. They are
	// striped, but still a write on every Get: off by default.
	RecordStats bool
}

// Stats is a snapshot of a cache's counters.
type Stats struct {
	Hits, Misses uint64 // zero unless Options.RecordStats
	// Sets counts stored writes; Rejections, Sets declined: too heavy for
	// a shard, a key not equal to itself, or a negative TTL (a Loader's
	// too), which stores nothing by design.
	Sets, Rejections uint64
	// Evictions counts entries removed for capacity; Expirations, entries
	// removed because their TTL had passed (by eviction, the expiry sweep
	// or DeleteExpired; OnEvict's EvictExpired). An expired entry that
	// Delete, Clear or a Set of its key removes counts in neither: OnEvict
	// sees it as EvictDeleted or EvictReplaced. Without Options.Clock, a
	// Set without a TTL judges its victims by the coarse clock, which
	// lags by a tick (more when every P is busy): an entry it evicts in
	// that time after its expiry counts as an eviction (EvictCapacity),
	// though a Get would already have missed it. A Set with a TTL reads
	// the exact time anyway, and judges by it.
	Evictions, Expirations uint64
	// Len and Weight are the current entry count and total weight.
	Len    int
	Weight int64
}

// Cache is a bounded concurrent cache. Create it with New; all methods are
// safe for concurrent use.
type Cache[K comparable, V any] struct {
	shards     []shard.Shard[K, V]
	shift      uint // hash >> shift selects the shard
	hash       hashing.Hasher[K]
	weigher    func(K, V) uint32
	onEvict    func(K, V, EvictReason)
	clock      Clock // nil: the coarse clock
	clockStart int64 // clock's first reading: see now
	defaultTTL time.Duration
	maxWeight  atomic.Int64
	resizing   sync.Mutex     // SetMaxWeight's calls, one at a time
	hits       *xsync.Counter // nil unless RecordStats
	misses     *xsync.Counter
	clockRef   *clock.Ref
	pool       *fifo.Pool // the shards' pooled tuning (fifo.Pool)
}

// New validates opts and returns an empty cache.
func New[K comparable, V any](opts Options[K, V]) (*Cache[K, V], error) {
	return newCache(opts, clock.Faked())
}

// newCache is New; inBubble says whether a cache without a Clock reads a
// testing/synctest bubble's time (New: whether it is made in one). An
// RTCache's error cache follows its Cache's clock, wherever it is made.
func newCache[K comparable, V any](opts Options[K, V], inBubble bool) (*Cache[K, V], error) {
	if opts.MaxWeight <= 0 {
		return nil, errors.New("ufocache: MaxWeight must be > 0")
	}
	if opts.DefaultTTL < 0 {
		return nil, errors.New("ufocache: DefaultTTL must be >= 0 (0 means NoExpiration)")
	}
	if opts.Clock != nil {
		switch v := reflect.ValueOf(opts.Clock); v.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
			if v.IsNil() {
				return nil, fmt.Errorf("ufocache: Clock is a nil %s (leave it nil for the built-in clock)", v.Kind())
			}
		}
	}
	if opts.KeepExpired < 0 {
		return nil, errors.New("ufocache: KeepExpired must be >= 0")
	}
	if opts.InitialCapacity < 0 || int64(opts.InitialCapacity) > opts.MaxWeight {
		return nil, fmt.Errorf("ufocache: InitialCapacity must be between 0 and MaxWeight (%d; an entry weighs at least 1), got %d",
			opts.MaxWeight, opts.InitialCapacity)
	}
	if opts.InitialCapacity > maxInitialCapacity {
		return nil, fmt.Errorf("ufocache: InitialCapacity must be at most %d, got %d", int64(maxInitialCapacity), opts.InitialCapacity)
	}
	n := opts.Shards
	switch {
	case n < 0 || n > 1<<16:
		return nil, fmt.Errorf("ufocache: Shards must be between 0 and %d, got %d", 1<<16, n)
	case n > 0 && n&(n-1) != 0:
		return nil, fmt.Errorf("ufocache: Shards must be a power of two, got %d", n)
	case n == 0:
		n = autoShards(opts.MaxWeight, runtime.GOMAXPROCS(0), opts.Weigher != nil, opts.InitialCapacity)
	}
	if int64(n) > opts.MaxWeight {
		return nil, fmt.Errorf("ufocache: Shards (%d) must not exceed MaxWeight (%d)", n, opts.MaxWeight)
	}
	c := &Cache[K, V]{
		shards:     make([]shard.Shard[K, V], n),
		shift:      uint(64 - bits.TrailingZeros(uint(n))),
		hash:       hashing.New(opts.Hasher, opts.rawHasher),
		weigher:    opts.Weigher,
		onEvict:    opts.OnEvict,
		clock:      opts.Clock,
		defaultTTL: opts.DefaultTTL,
	}
	c.maxWeight.Store(opts.MaxWeight)
	if c.defaultTTL == 0 {
		c.defaultTTL = NoExpiration
	}
	if opts.RecordStats {
		c.hits, c.misses = xsync.NewCounter(), xsync.NewCounter()
	}
	per, extra := opts.MaxWeight/int64(n), opts.MaxWeight%int64(n)
	// Sketches are sized for their shard's share up front, within a total
	// of about 4M keys (16 MiB) however many shards there are; beyond
	// that they grow as entries arrive. However small the shard, its
	// sketch has room for at least 4K keys (16 KiB; its aging still
	// follows the shard's size): a sketch counts the keys its shard is
	// offered, not only those it holds, and one sized for a few hundred
	// entries conflated the keys that come back (0.5 to 4 pp of hit ratio
	// on traces at 250 to 1000 entries). The least room is per shard,
	// since each counts its own keys: shared out (4K keys over all the
	// shards), the sketches of p3 at 25k entries (16 shards of 2K keys)
	// had 90-98% of their counters in use; per shard, p3 there gained
	// 1.1-1.2 pp and cloudphysics at 4000/8000 entries 0.5-0.6/1.4
	// (policy suite, 8 replays, two runs; mean 50.44 -> 50.50-50.51, no
	// cell down by more than 0.25; TestSketchRoomPerShard),
	// for 6.5 bytes per entry at 10k entries (8 shards of 1250: uint64
	// entries 73 -> 80 B in perf's memory suite), 4 at 64k and none from
	// 100k up on two cores. 8K keys per shard gained 0.35-0.65 pp more on
	// those cells and cost 20 bytes per entry at 10k. The gain is the
	// room per key, not the shard count: fewer, larger shards (at least
	// 4096 entries each) moved no cell, their sketches growing with them.
	// The least room stays within the up-front budget (16 MiB in all) and
	// within 4 keys per unit of the shard's capacity (16 bytes), where
	// that is more than the 4K keys shared out: however many shards a
	// machine's cores call for, a shard of 2K entries gets its 4K keys,
	// and 64K shards of one entry get 4 each, not 4K (TestSketchLeastRoom).
	sketchKeys, sketchMin := sketchSizes(n, per)
	expect := 0 // entries per shard: their share, and 4 standard deviations of it
	if ic := opts.InitialCapacity; ic > 0 {
		share := ic/n + min(ic%n, 1) // rounded up, without overflow
		expect = share + 4*int(math.Sqrt(float64(share))) + 1
	}
	c.pool = fifo.NewPool()
	for i := range c.shards {
		w := per
		if int64(i) < extra {
			w++
		}
		c.shards[i].Init(w, opts.Weigher == nil, c.hash.Sum, int64(opts.KeepExpired), sketchKeys, sketchMin, expect)
		c.shards[i].SharePool(c.pool)
		// The first extra shards hold one unit more, but an entry's limit
		// does not depend on where its key lands.
		c.shards[i].LimitEntryWeight(per)
	}
	if c.clock == nil && inBubble {
		c.clock = fakedClock{}
	}
	if c.clock != nil {
		c.clockStart = c.clock.Nanotime()
	}
	if c.clock == nil {
		c.clockRef = clock.Acquire()
		runtime.AddCleanup(c, func(r *clock.Ref) { r.Release() }, c.clockRef)
	}
	return c, nil
}

// Must is New that panics on an error; for package-level caches with
// constant options.
func Must[K comparable, V any](opts Options[K, V]) *Cache[K, V] {
	c, err := New(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// maxInitialCapacity bounds Options.InitialCapacity where the sizes it
// asks for still fit an int and the address space: 2^36 entries (an index
// of about 1 TiB) on 64-bit platforms, 2^25-1 (about 470 MiB) on 32-bit
// ones. Past it the hint is an error, not an out-of-memory crash in New.
const maxInitialCapacity = min(1<<36, math.MaxInt>>6)

// sketchSizes returns the keys the sketches of n shards of per units are
// sized for, and their least room (see New).
func sketchSizes(n int, per int64) (keys, least int) {
	keys = max(256, (4<<20)/n)
	least = min(4<<10, keys, max((4<<10)/n, int(min(per, 1<<20))*4))
	if !sketchLeastPerShard {
		least = (4 << 10) / n
	}
	return keys, least
}

// sketchLeastPerShard: a test turns it off to measure what it is worth
// (the least sketch size then applies to all the shards together).
var sketchLeastPerShard = true

// autoShards picks a power of two: 16 per P, rounded up (fewer writers meet on a
// lock: 32 shards wrote 15-25% faster than 8 on 2 cores, with the same hit
// ratios on the traces), but never so many that a shard's policy lacks
// room: at least shardEntries entries per shard, and manyShardEntries
// beyond manyShards shards. Entries are the units of weight of a unit
// cache. A weighted cache's are unknown unless initial
// (Options.InitialCapacity) says how many to expect; without it, its
// units of weight stand in for them, and it gets at most one shard per P,
// rounded up: on cloudPhysics with byte weights 32
// shards lost 2.2 pp of byte hit ratio at 160 and at 640 MiB against 2
// shards, and 64 shards (GOMAXPROCS 64) 2.1/4.9/2.2 pp at 40/160/320
// MiB, where about 1000/4000/8000 objects fill them (policy suite, 4
// replays). Given those entries as initial, it made 1, 2 and 4 shards
// there and got 5.2/13.2/23.6%, as at GOMAXPROCS 2 (4.8/13.4/23.5).
func autoShards(maxWeight int64, procs int, weighted bool, initial int) int {
	most, entries := 16*procs, maxWeight
	if weighted {
		most = procs
		if initial > 0 {
			entries = int64(initial)
		}
	}
	n := 1
	for n < min(most, 1<<16) && roomy(2*n, entries) { // 1<<16: as Options.Shards
		n *= 2
	}
	return n
}

// A shard holds at least shardEntries entries, and at least
// manyShardEntries where a cache has more than manyShards shards (16 per P
// gives that many from 3 Ps on). Past 32 shards on p3, shards of fewer
// entries cost hit ratio: at 400k entries, 76.7% in 32 or 64 shards,
// 76.0% in 128 and 75.4% in 256 (GOMAXPROCS 8 and 16 under the former
// rule of 1024 entries a shard); at 100k, 41.3% in 32, 40.8% in 64
// (policy suite, 4 replays); the other traces moved less than 0.2 pp.
// With this rule, at GOMAXPROCS 16 and 64: 76.6% at 400k entries (64
// shards), 41.2-41.4% at 100k (32).
// Up to 32 shards, 1024 stands: there fewer shards mean writers meeting
// on a lock (see autoShards).
const (
	shardEntries     = 1024
	manyShards       = 32
	manyShardEntries = 4096
)

// roomy reports whether n shards each have room for enough of entries.
func roomy(n int, entries int64) bool {
	return int64(n)*shardEntries <= entries && (n <= manyShards || int64(n)*manyShardEntries <= entries)
}

func (c *Cache[K, V]) shardFor(h uint64) *shard.Shard[K, V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[h>>c.shift]
}

// fakedClock is the clock of a cache made inside a testing/synctest bubble
// without a Clock (see Options.Clock): the bubble's time, read each time.
type fakedClock struct{}

func (fakedClock) Nanotime() int64 { return time.Now().UnixNano() }

// now returns the time, on a scale that starts at 1 when an injected
// Clock is read first: expiries are now+ttl, with 0 meaning never and a
// negative one already expired, so a clock with an origin of its own (it
// may read 0, or below) would turn a TTL into either. The time since the
// first reading is taken in uint64 and saturates below MaxInt64: a clock
// may span more than MaxInt64 (from 0, or below, to the end of time), and
// the difference in int64 wrapped around to a negative time there. A
// reading before the first one (a clock going back, against Clock's
// contract) counts as the first.
func (c *Cache[K, V]) now() int64 {
	if c.clock != nil {
		t := c.clock.Nanotime()
		if t <= c.clockStart {
			return 1
		}
		return int64(min(uint64(t)-uint64(c.clockStart), math.MaxInt64-1)) + 1
	}
	return clock.Now()
}

// exactNow is now for a write that sets or judges an expiry: without a
// Clock, the exact time on the coarse clock's scale, as reads judge an
// entry near its expiry (nowFor). (In a synctest bubble the exact time
// reads years before the coarse one, which stays on real time: it is
// then the coarse time.)
func (c *Cache[K, V]) exactNow() int64 {
	now := c.now()
	if c.clock == nil {
		p := clock.Precise()
		clock.Catch(p) // a ticker the scheduler has not run lags no further
		now = max(p, now)
	}
	return now
}

// nowFor returns the time at which to judge an expiry at expire (> 0):
// now, or the exact time where the coarse clock reads it within
// clock.NearExpiry of expire and not past it. That clock's goroutine
// ticks only when the scheduler runs it, and with every P busy it falls
// tens of milliseconds behind; so, judged by it alone, an entry outlived
// its TTL by as much. Only reads of an entry that close to its expiry pay
// for the exact reading (about 30 ns here).
func (c *Cache[K, V]) nowFor(expire int64) int64 {
	now := c.now()
	if c.clock == nil && now < expire && expire-now <= int64(clock.NearExpiry) {
		p := clock.Precise()
		clock.Catch(p)
		return max(p, now)
	}
	return now
}

// Get returns the value of k if it is present and not expired.
// It takes no lock and allocates nothing itself. But a key with pointers
// (a string, or a struct holding one) escapes, since k is passed on to
// the hash function, which the compiler cannot see through: a key built
// for the call, such as string(b) of a []byte or a concatenation, is
// moved to the heap by the caller, one allocation per Get (Go's maps
// avoid that for m[string(b)] with the compiler's help). A constant key,
// or one already on the heap, costs nothing (TestGetKeyAllocations); for
// a key in a []byte, GetBytes costs nothing either.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var h uint64
	// The integer hash inlines here; Sum would be a call (generic code
	// instantiated in another package inlines only small generic methods).
	if c.hash.Kind == hashing.Word64 {
		h = c.hash.Word(k)
	} else {
		h = c.hash.Sum(k)
	}
	// Only entries with a TTL read the clock.
	if e := c.shardFor(h).Find(k, h); e != nil && (e.Expire == 0 || c.nowFor(e.Expire) < e.Expire) {
		e.Touch()
		if c.hits != nil {
			c.hits.Inc()
		}
		return e.Val, true
	}
	if c.misses != nil {
		c.misses.Inc()
	}
	var zero V
	return zero, false
}

// get is Get of k, whose hash is h; it keeps nothing of k. Get repeats its
// body: a generic method calling another is not inlined, and the call
// would cost every Get.
func (c *Cache[K, V]) get(k K, h uint64) (V, bool) {
	if e := c.shardFor(h).Find(k, h); e != nil && (e.Expire == 0 || c.nowFor(e.Expire) < e.Expire) {
		e.Touch()
		if c.hits != nil {
			c.hits.Inc()
		}
		return e.Val, true
	}
	if c.misses != nil {
		c.misses.Inc()
	}
	var zero V
	return zero, false
}

// GetBytes is c.Get(K(string(b))) for a cache whose keys are strings,
// without the conversion: it allocates nothing, whatever the key's length
// (where Get of a key built for the call costs the caller an allocation;
// see Get). It only reads b, and only during the call. With a custom
// Options.Hasher, which may keep the key it is given, it hashes a copy,
// one allocation.
func GetBytes[K ~string, V any](c *Cache[K, V], b []byte) (V, bool) {
	k, h := bytesKey(c, b)
	return c.get(k, h)
}

// bytesKey returns a key of c that shares b's bytes, and its hash. The
// key must not be kept past the caller's call, nor passed to anything
// that may keep it: the index compares it and maphash reads it, but a
// custom Hasher may keep its key, so it is given a copy.
func bytesKey[K ~string, V any](c *Cache[K, V], b []byte) (K, uint64) {
	s := unsafe.String(unsafe.SliceData(b), len(b))
	if c.hash.Kind != hashing.String { // a custom Hasher
		return K(s), c.hash.Sum(K(string(b)))
	}
	return K(s), c.hash.Str(s)
}

// Peek is Get that counts as no read: the entry's frequency is left as
// it is, so the policy sees nothing of it (a health check, a dump, a
// Contains), and RecordStats counts neither a hit nor a miss. Like Get,
// it takes no lock and allocates nothing.
func (c *Cache[K, V]) Peek(k K) (V, bool) {
	h := c.hash.Sum(k)
	if e := c.shardFor(h).Find(k, h); e != nil && (e.Expire == 0 || c.nowFor(e.Expire) < e.Expire) {
		return e.Val, true
	}
	var zero V
	return zero, false
}

// GetWithStatus is Get that tells a miss from an expired entry. On Expired
// the zero value is returned.
func (c *Cache[K, V]) GetWithStatus(k K) (V, Status) {
	h := c.hash.Sum(k)
	e := c.shardFor(h).Find(k, h)
	if e != nil {
		// Only entries with a TTL read the clock.
		if !e.Expires() || c.nowFor(e.Expire) < e.Expire {
			e.Touch()
			if c.hits != nil {
				c.hits.Inc()
			}
			return e.Val, Hit
		}
	}
	if c.misses != nil {
		c.misses.Inc()
	}
	var zero V
	if e != nil {
		return zero, Expired
	}
	return zero, Miss
}

// GetStale returns the value of k even if it has expired, with how long ago
// it expired: staleFor > 0 exactly when the entry has expired (1ns for one
// expiring this very nanosecond). ok is false only when k is absent. A stale
// read does not raise the entry's frequency, and counts as a miss in Stats,
// as GetWithStatus counts an expired entry.
func (c *Cache[K, V]) GetStale(k K) (v V, staleFor time.Duration, ok bool) {
	h := c.hash.Sum(k)
	e := c.shardFor(h).Find(k, h)
	if e == nil {
		if c.misses != nil {
			c.misses.Inc()
		}
		return v, 0, false
	}
	if e.Expires() {
		if now := c.nowFor(e.Expire); now >= e.Expire {
			if c.misses != nil {
				c.misses.Inc()
			}
			// At least 1ns: an entry expired this very nanosecond is stale.
			return e.Val, max(time.Duration(now-e.Expire), 1), true
		}
	}
	e.Touch()
	if c.hits != nil {
		c.hits.Inc()
	}
	return e.Val, 0, true
}

// GetWithTTL is Get that also returns how long the value has left to live
// (a DNS answer's remaining TTL, a Cache-Control max-age): NoExpiration
// for an entry without a TTL, and otherwise more than 0 whenever ok. It is
// measured on the clock by which Get judges expiry (see the package doc):
// exactly with Options.Clock; else to within the coarse clock's lag, about
// a millisecond over at most (the exact time is read within 50 ms of the
// expiry), unless that clock fell more than 50 ms behind. It agrees with
// Get: ok exactly when Get would find the value. Like Get, it takes no
// lock, allocates nothing, counts a hit or a miss and touches what it
// finds; an expired entry is a miss (zero value, 0, false).
func (c *Cache[K, V]) GetWithTTL(k K) (v V, ttl time.Duration, ok bool) {
	return withTTL(c.read(k, c.hash.Sum(k), true))
}

// GetBytesWithTTL is c.GetWithTTL(K(string(b))) without the conversion,
// as GetBytes is Get's: no allocation (but for a custom Options.Hasher's
// copy), and b is only read during the call. For a resolver that looks
// up the question read from the packet (its name's case folded first, in
// a buffer of its own: keys compare byte for byte) and answers with the
// time the record has left.
func GetBytesWithTTL[K ~string, V any](c *Cache[K, V], b []byte) (v V, ttl time.Duration, ok bool) {
	k, h := bytesKey(c, b)
	return withTTL(c.read(k, h, true))
}

// withTTL turns what read found into GetWithTTL's answer.
func withTTL[V any](v V, st Status, left time.Duration) (V, time.Duration, bool) {
	if st != Hit {
		var zero V
		return zero, 0, false
	}
	return v, left, true
}

// Result is one key's answer in MultiGet.
type Result[V any] struct {
	Value  V
	Status Status
}

// MultiGet looks up every key and returns the results in the same order.
func (c *Cache[K, V]) MultiGet(keys []K) []Result[V] {
	out := make([]Result[V], len(keys))
	for i, k := range keys {
		out[i].Value, out[i].Status = c.GetWithStatus(k)
	}
	return out
}

// Set stores v under k with the default TTL and reports whether it did.
// It returns false only for a value that can never be stored: one heavier
// than a shard's share of MaxWeight (any older value of k is removed too,
// so a later Get never returns a value older than this Set), or one whose
// key is not equal to itself (see Options.Hasher).
//
// Admission happens inside the cache rather than at the door: a new key
// enters the small probationary queue, and when it leaves that queue
// unread it enters the main queue only if the sketch rates it above the
// entries it would displace. So a stored value may be evicted by the
// writes that follow, but it is never silently dropped by this one.
//
// A Set of a key already present keeps the entry's place in the queues
// and counts as one read of the key.
func (c *Cache[K, V]) Set(k K, v V) bool {
	return c.set(k, v, 0)
}

// SetWithTTL is Set with a TTL; see the package doc for its conventions
// (a negative ttl stores nothing, removes k and returns false).
func (c *Cache[K, V]) SetWithTTL(k K, v V, ttl time.Duration) bool {
	return c.set(k, v, ttl)
}

// ForceSet is SetWithTTL under the name of pingora's force_put. Since no Set
// is declined at the door (see Set), it behaves exactly like SetWithTTL; it
// exists so that code ported from pingora reads the same.
func (c *Cache[K, V]) ForceSet(k K, v V, ttl time.Duration) bool {
	return c.set(k, v, ttl)
}

// SetIfAbsent stores v for k with ttl, as SetWithTTL does, unless k
// holds a live value: it then leaves that value, records a read of it
// for the eviction policy (not in Stats), and returns it with false (v,
// never stored, is not told to OnEvict: it is still the caller's).
// Otherwise it returns v and true if it stored v, or V's zero value and
// false if v was declined as SetWithTTL would decline it (too heavy for
// a shard, a negative ttl, a key not equal to itself). An expired value
// counts as absent and is replaced. The lookup and the store are one
// step under k's shard lock: of concurrent SetIfAbsent calls of a key
// with no live value, one stores and the others get its value, where a
// Get followed by a Set would let each of them believe it stored. With
// an RTCache over the cache it is a write of the Cache, not of the
// RTCache: a load in flight may overwrite it (see RTCache.Set).
func (c *Cache[K, V]) SetIfAbsent(k K, v V, ttl time.Duration) (V, bool) {
	w := c.weigh(k, v)
	expire, now := c.expiry(ttl)
	if expire <= 0 {
		// The live value is judged on the exact clock, as a write with a
		// TTL judges expiries (expiry read it then); a Get near an
		// expiry reads it too (nowFor).
		now = c.exactNow()
	}
	h := c.hash.Sum(k)
	sh := c.shardFor(h)
	if c.onEvict == nil { // nothing to collect: keep out off the heap
		return sh.SetIfAbsent(k, v, h, w, expire, now, nil)
	}
	var out []shard.Evicted[K, V]
	got, stored := sh.SetIfAbsent(k, v, h, w, expire, now, &out)
	c.notify(out)
	return got, stored
}

// ComputeOp says what Compute does with its key once its function
// returns.
type ComputeOp = shard.Op

const (
	// ComputeKeep leaves the key as it was: a live value stays (and
	// records a read of it, as SetIfAbsent's does), and so does an
	// expired one or none. It is the zero ComputeOp.
	ComputeKeep = shard.Keep
	// ComputeStore stores the value the function returned with its TTL,
	// as SetWithTTL would (a negative TTL, or a value too heavy for a
	// shard, stores nothing and removes the key: OnEvict hears of the old
	// value as EvictReplaced and of the declined one as EvictRejected).
	ComputeStore = shard.Store
	// ComputeRemove removes the key's value, live or expired, as Delete
	// would (OnEvict: EvictDeleted).
	ComputeRemove = shard.Remove
	// ComputeUpdate is ComputeStore keeping the expiry of the live value
	// found, whatever TTL the function returned; with none found, that
	// TTL applies. A counter of a fixed window returns old+1 and the
	// window's length, and the window ends when the first count's value
	// expires (Caffeine's expireAfterUpdate returning the current
	// duration, Redis's SET KEEPTTL). A kept expiry that passes while
	// the function runs stores nothing, as a negative TTL would
	// (TestComputeUpdate).
	ComputeUpdate = shard.Update
)

// Compute changes k's value atomically: it calls f with k's live value
// (found false, and old V's zero value, if k has none or its value has
// expired) and does what f's ComputeOp says, all under one hold of k's
// shard lock, so no other write of k comes between f's reading of old and
// the store or removal it asks for. Of concurrent Computes of a key, each
// f sees the value the one before it left: a counter incremented by
// Compute from many goroutines loses no increment, where a Get followed
// by a Set would (TestComputeCountsEveryIncrement).
//
// Compute returns the value k holds when it returns and whether it holds
// one: after ComputeStore, v and true if v was stored, V's zero value
// and false if it was declined as SetWithTTL would decline it (too heavy
// for a shard, a negative ttl, a key not equal to itself); after
// ComputeRemove, the zero value and false; after ComputeKeep, old and
// found (ComputeUpdate returns as ComputeStore does). ttl follows
// SetWithTTL's conventions (0: Options.DefaultTTL) and matters only with
// ComputeStore, and with ComputeUpdate when no live value was found; a
// TTL f works out as the time left of something must not reach 0, which
// is the DefaultTTL (never, by default), nor go negative, which stores
// nothing. A ComputeStore counts in Stats as a Set does (Sets or
// Rejections, and what it evicts); Compute counts no Hits or Misses.
//
// f runs with the shard's lock held, as does Options.Weigher for the
// value f returns (with ComputeStore): both must be quick and must not
// call this Cache (or an RTCache over it), which would deadlock on a key
// of the same shard; other caches and locks are fine. OnEvict runs after
// the lock is released, as for every write. If f panics, nothing is
// changed and the panic goes on to Compute's caller; an unknown
// ComputeOp panics the same way. With an RTCache over the cache, Compute
// is a write of the Cache, not of the RTCache: a load of k in flight may
// store over it (see RTCache.Set); RTCache.Compute is ordered with loads.
func (c *Cache[K, V]) Compute(k K, f func(old V, found bool) (v V, ttl time.Duration, op ComputeOp)) (V, bool) {
	var out []shard.Evicted[K, V]
	got, ok := c.computeCollect(k, f, &out)
	c.notify(out)
	return got, ok
}

// computeCollect is Compute that appends what left the cache to out (when
// out is not nil) instead of calling OnEvict, for RTCache.Compute, which
// runs it under k's lock in the wait map.
func (c *Cache[K, V]) computeCollect(k K, f func(old V, found bool) (v V, ttl time.Duration, op ComputeOp), out *[]shard.Evicted[K, V]) (V, bool) {
	// The value found is judged under the lock, as a read judges it: on
	// the exact clock near its expiry (nowFor), and with no clock reading
	// at all if it never expires (the exact one cost a counter's Compute
	// 15% of its time, perf's BenchmarkCompute).
	h := c.hash.Sum(k)
	return c.shardFor(h).Compute(k, h, c.nowFor, func(old V, found bool, oldExpire int64) (v V, w uint32, expire, at int64, op shard.Op) {
		v, ttl, op := f(old, found)
		switch op {
		case ComputeKeep, ComputeRemove:
		case ComputeStore:
			w = c.weigh(k, v)
			expire, at = c.expiry(ttl)
		case ComputeUpdate:
			w = c.weigh(k, v)
			expire, at = c.keepExpiry(oldExpire, found, ttl)
			op = ComputeStore
		default:
			panic(fmt.Sprintf("ufocache: Compute: unknown ComputeOp %d", op))
		}
		return v, w, expire, at, op
	}, c.collect(out))
}

func (c *Cache[K, V]) set(k K, v V, ttl time.Duration) bool {
	if c.onEvict == nil { // nothing to collect: keep out off the heap
		return c.setCollect(k, v, ttl, nil)
	}
	var out []shard.Evicted[K, V]
	ok := c.setCollect(k, v, ttl, &out)
	c.notify(out)
	return ok
}

// setCollect is set that appends what left the cache to out (when out is
// not nil) instead of calling OnEvict, so that a caller holding a lock can
// notify after releasing it.
func (c *Cache[K, V]) setCollect(k K, v V, ttl time.Duration, out *[]shard.Evicted[K, V]) bool {
	return c.setWeighed(k, v, c.weigh(k, v), ttl, out)
}

// weigh returns the weight of k=v: the Weigher's, at least 1.
func (c *Cache[K, V]) weigh(k K, v V) uint32 {
	if c.weigher == nil {
		return 1
	}
	return max(c.weigher(k, v), 1)
}

// setWeighed is setCollect with the weight w already computed, for a
// caller that stores under a lock of its own: the Weigher runs before any
// lock is taken (a Weigher that calls the RTCache would deadlock under it).
func (c *Cache[K, V]) setWeighed(k K, v V, w uint32, ttl time.Duration, out *[]shard.Evicted[K, V]) bool {
	expire, now := c.expiry(ttl)
	return c.setAt(k, v, w, expire, now, out)
}

// keepExpiry returns the expiry a value stored by ComputeUpdate gets, and
// the time it is counted from: old, the expiry of the live value found
// (found), or ttl's if none was; -1 (nothing stored) if old has passed by
// the exact clock since the value was judged live.
func (c *Cache[K, V]) keepExpiry(old int64, found bool, ttl time.Duration) (expire, now int64) {
	switch {
	case !found:
		return c.expiry(ttl)
	case old == 0:
		return 0, c.now()
	}
	if now = c.exactNow(); now >= old {
		return -1, now
	}
	return old, now
}

// expiry returns the expiry a value written now with ttl gets (0: never;
// -1: already expired, for a negative ttl), and the time it is counted
// from.
func (c *Cache[K, V]) expiry(ttl time.Duration) (expire, now int64) {
	if ttl == 0 {
		ttl = c.defaultTTL
	}
	now = c.now()
	if ttl < 0 {
		return -1, now // already expired: the shard removes k
	}
	if ttl != NoExpiration {
		// The coarse clock lags real time by up to a tick: counted from
		// it, the expiry came up to a tick early. Counted from the exact
		// time, an entry lives at least its TTL and at most about a tick
		// more, as the package doc says. Only a write with a TTL pays for
		// the reading; the shard judges its victims' expiries at the
		// same time.
		now = c.exactNow()
		expire = now + int64(ttl)
		if expire < now { // overflow: as good as never
			expire = 0
		}
	}
	return expire, now
}

// setAt is setWeighed with the expiry already computed (by expiry, at
// now).
func (c *Cache[K, V]) setAt(k K, v V, w uint32, expire, now int64, out *[]shard.Evicted[K, V]) bool {
	h := c.hash.Sum(k)
	return c.shardFor(h).Set(k, v, h, max(w, 1), expire, now, c.collect(out))
}

// leftAt returns how long a value expiring at expire (as expiry gives
// it) has left to live now: NoExpiration if never, 0 if it has expired.
func (c *Cache[K, V]) leftAt(expire int64) time.Duration {
	switch {
	case expire == 0:
		return NoExpiration
	case expire < 0:
		return 0
	}
	return max(time.Duration(expire-c.nowFor(expire)), 0)
}

// collect returns out, or nil when there is no OnEvict to tell.
func (c *Cache[K, V]) collect(out *[]shard.Evicted[K, V]) *[]shard.Evicted[K, V] {
	if c.onEvict == nil {
		return nil
	}
	return out
}

// notify calls OnEvict for each of out, every one of them even if some
// panic, and then raises the first panic again.
func (c *Cache[K, V]) notify(out []shard.Evicted[K, V]) {
	c.tell(out).raise()
}

// tell calls OnEvict for each of out. A call that panics does not cut the
// others short: tell returns the first panic, for its caller to raise
// once its own work is done (Clear clears every shard first), so that a
// panicking OnEvict costs no other removal its report.
func (c *Cache[K, V]) tell(out []shard.Evicted[K, V]) (first *recovered) {
	if c.onEvict == nil {
		return nil
	}
	for _, ev := range out {
		first = first.or(c.call(ev))
	}
	return first
}

func (c *Cache[K, V]) call(ev shard.Evicted[K, V]) (p *recovered) {
	defer func() {
		if r := recover(); r != nil { // a panic(nil) recovers as a *runtime.PanicNilError
			p = &recovered{r}
		}
	}()
	c.onEvict(ev.Key, ev.Val, ev.Reason)
	return nil
}

// recovered is a panic value that a callback raised.
type recovered struct{ v any }

// or returns p, or q if p is nil: the first of two panics.
func (p *recovered) or(q *recovered) *recovered {
	if p != nil {
		return p
	}
	return q
}

// raise panics with the value again, if there is one.
func (p *recovered) raise() {
	if p != nil {
		panic(p.v)
	}
}

// Delete removes k and returns the value it had, if it was present and not
// expired.
func (c *Cache[K, V]) Delete(k K) (V, bool) {
	var out []shard.Evicted[K, V]
	v, ok := c.deleteCollect(k, &out)
	c.notify(out)
	return v, ok
}

// deleteCollect is Delete that appends the removal to out (when out is not
// nil) instead of calling OnEvict.
func (c *Cache[K, V]) deleteCollect(k K, out *[]shard.Evicted[K, V]) (V, bool) {
	h := c.hash.Sum(k)
	e := c.shardFor(h).Delete(k, h, c.collect(out))
	if e == nil || (e.Expires() && c.nowFor(e.Expire) >= e.Expire) {
		var zero V
		return zero, false
	}
	return e.Val, true
}

// DeleteExpired removes every entry that expired at least
// Options.KeepExpired ago (with 0, every expired entry). It reads, shard
// by shard and without the shards' locks, the entries of the index groups
// whose noted earliest expiry (a lower bound, in ticks of about a second)
// is at or before now - KeepExpired; it takes the locks only to copy those
// notes and to remove what it found, a few dozen entries at a time, so
// Sets go on meanwhile (BenchmarkSetDuringDeleteExpired).
func (c *Cache[K, V]) DeleteExpired() {
	// By the coarse clock alone it left entries that Get already found
	// expired (195 of 200, each read as Expired just before).
	now := c.exactNow()
	var first *recovered
	for i := range c.shards {
		var out []shard.Evicted[K, V]
		c.shards[i].DeleteExpired(now, c.collect(&out))
		first = first.or(c.tell(out))
	}
	first.raise()
}

// Len returns the number of entries, including expired ones not yet
// reclaimed.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		n += c.shards[i].Len()
	}
	return n
}

// Weight returns the total weight of the entries.
func (c *Cache[K, V]) Weight() int64 {
	var w int64
	for i := range c.shards {
		w += c.shards[i].Weight()
	}
	return w
}

// MaxWeight returns the bound on the total weight: New's, or the last
// SetMaxWeight's. While a SetMaxWeight runs it is the larger of the old
// bound and the new, so that Weight() <= MaxWeight() holds throughout.
func (c *Cache[K, V]) MaxWeight() int64 { return c.maxWeight.Load() }

// Shards returns the number of shards: Options.Shards, or the count New
// chose. A value heavier than MaxWeight()/Shards() is declined.
func (c *Cache[K, V]) Shards() int { return len(c.shards) }

// SetMaxWeight changes the bound on the total weight, as golang-lru's
// Resize and otter's SetMaximum do. When it returns, Weight() <= w: each
// shard in turn evicts, in its policy's order, down to its new share
// (w/Shards, the first w%Shards shards one unit more), and OnEvict hears
// of each entry with EvictCapacity (EvictExpired for one already expired,
// which eviction drops where it meets it, as a Set's does:
// TestSetMaxWeightReportsExpiredVictimsAsExpired), once every shard is
// resized, outside every lock, so that it may call SetMaxWeight itself
// (the first panic there is raised once the others are told). Sets meanwhile
// keep to their shard's bound, old or new. The policy keeps what it
// learned (the small queue keeps its share of the capacity), but for a
// cache without a Weigher whose new size calls for an admission sketch of
// another size: that sketch starts afresh. The shard count stays New's,
// so values heavier than w/Shards are declined from then on (one already
// stored stays while its shard has room for it), and a cache grown far
// beyond the size New chose its shards for shares its writes among fewer
// locks than a new cache of that size would. A smaller bound rebuilds an
// index with more than twice the room it needs at once, under its shard's
// lock, which returns that memory. Calls are applied one at a time.
// Errors: w <= 0, or w below the shard count (a shard holds at least one
// unit).
func (c *Cache[K, V]) SetMaxWeight(w int64) error {
	n := len(c.shards)
	switch {
	case w <= 0:
		return fmt.Errorf("ufocache: MaxWeight must be > 0, got %d", w)
	case w < int64(n):
		return fmt.Errorf("ufocache: MaxWeight (%d) must not be below the shard count (%d)", w, n)
	}
	out := c.resize(w)
	// Outside every lock, as OnEvict is promised: it may resize again.
	c.notify(out)
	return nil
}

// resize is SetMaxWeight's work under its lock, returning what left. The
// lock is released by a defer: the Clock is read under it, and a Clock
// that panics (or calls runtime.Goexit, as a test's t.FailNow does) left
// it held, and every later SetMaxWeight waiting for ever
// (TestClockThatPanicsLeavesTheCacheUsable). A bound raised before such a
// panic stays raised: MaxWeight is then above what the shards may hold,
// never below.
func (c *Cache[K, V]) resize(w int64) (out []shard.Evicted[K, V]) {
	n := len(c.shards)
	c.resizing.Lock()
	defer c.resizing.Unlock()
	// MaxWeight never reads below what the shards may hold: a larger
	// bound is published before the shards take it, a smaller one after.
	if w > c.maxWeight.Load() {
		c.maxWeight.Store(w)
	}
	per, extra := w/int64(n), w%int64(n)
	keys, least := sketchSizes(n, per)
	for i := range c.shards {
		capacity := per
		if int64(i) < extra {
			capacity++
		}
		c.shards[i].Resize(capacity, per, c.now(), keys, least, c.collect(&out))
	}
	c.maxWeight.Store(w)
	return out
}

// Clear removes every entry; OnEvict sees them with EvictDeleted. It
// clears the shards one after another (OnEvict hears of each shard's
// entries before the next is cleared), so it is not one step over the
// cache: to other goroutines it is a Delete of each key at its own point
// within the call, and a key set during it may outlive it while another
// key still reads its old value (TestClearDeletesEachKeyAtItsOwnPoint).
// Each shard's index, and its admission sketch if it grew with the
// entries (a weighted cache's does), go back to the sizes New gave them,
// so the cache's memory returns to what New took. With
// Options.InitialCapacity, each shard allocates its presized index
// again, before it takes its lock. An RTCache over the cache has a Clear
// of its own, which also drops its cached errors and detaches its loads
// in flight; this one does neither.
func (c *Cache[K, V]) Clear() {
	var first *recovered
	for i := range c.shards {
		var out []shard.Evicted[K, V]
		c.shards[i].Clear(c.collect(&out))
		first = first.or(c.tell(out))
	}
	c.pool.Reset()
	first.raise()
}

// All iterates over the entries that are present and not expired, shard by
// shard, without holding a lock while yield runs. Expired entries kept for
// stale reads (Options.KeepExpired, RTCache.Invalidate) are not visited,
// though GetStale may still return them: a purge that walks All misses
// them (DeleteFunc, Clear, or Delete of their keys, removes them).
// Entries set or deleted during the iteration may or may not be seen, and
// a key deleted and set again while its shard is read may be seen twice,
// with its old value and its new one (a value replaced by Set keeps the
// key's place: it is seen once).
func (c *Cache[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i := range c.shards {
			for _, e := range c.shards[i].Snapshot() {
				if e.Expires() && c.nowFor(e.Expire) >= e.Expire {
					continue
				}
				if !yield(e.Key, e.Val) {
					return
				}
			}
		}
	}
}

// DeleteFunc removes every entry for which del returns true, expired ones
// kept for stale reads (Options.KeepExpired, RTCache.Invalidate) included,
// and returns how many it removed; OnEvict hears of each as
// EvictDeleted. A purge of a tenant's or a prefix's keys that walks All
// leaves those expired entries to GetStale; this one does not. It reads
// the entries shard by shard, as All does, and calls del without any
// lock held (del may call the cache); it then removes what del chose
// under the shard's lock, a few dozen entries at a time, each only if its
// key still holds the entry del was shown: a value set meanwhile was not
// judged, and stays (so does a copy that RTCache.Invalidate made of the
// value meanwhile, expired at once). Entries set or deleted during the call may or may
// not be seen. If del panics, the panic goes on to the caller (in place
// of a panic of OnEvict's before it, which is dropped), and what was
// removed before it stays removed (OnEvict hears of it). With an
// RTCache over the cache, a load in flight of a removed key is not
// detached, and may store its value afterwards (RTCache.DeleteFunc,
// RTCache.Delete and RTCache.Clear detach loads).
func (c *Cache[K, V]) DeleteFunc(del func(k K, v V) bool) int {
	n := 0
	var first *recovered
	for i := range c.shards {
		var out []shard.Evicted[K, V]
		func() {
			defer func() { first = first.or(c.tell(out)) }() // del's panic too
			n += c.shards[i].DeleteFunc(del, c.collect(&out))
		}()
	}
	first.raise()
	return n
}

// Stats returns a snapshot of the counters.
func (c *Cache[K, V]) Stats() Stats {
	var st Stats
	for i := range c.shards {
		s := c.shards[i].Stats()
		st.Sets += s.Sets
		st.Rejections += s.Rejections
		st.Evictions += s.Evictions
		st.Expirations += s.Expirations
		st.Len += s.Len
		st.Weight += s.Weight
	}
	if c.hits != nil {
		st.Hits, st.Misses = uint64(c.hits.Value()), uint64(c.misses.Value())
	}
	return st
}
