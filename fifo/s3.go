package fifo

import (
	"errors"
	"math"
	"math/bits"
	"sync/atomic"

	"github.com/ufocache/ufocache/sketch"
)

// SmallPercent is the small queue's starting share of the capacity, between
// S3-FIFO's 10% and W-TinyLFU's 1% window; the ghosts then move it between
// MinSmallPermille and MaxSmallPercent (see S3).
//
// The share the cache fills at outlasts the fill, because the ghosts move
// it slowly: filling at 30% (adapting only from the first overflow) took p3
// at 400k entries, a trace that fills halfway through, from 75.3% to
// 77.9%, but cost gli 4-8 pp, multi2 1-4.5 and cloudphysics 1-5 (policy
// suite, 8 seeds; at 15%: p3 +1.8, the rest about half as much lost).
const SmallPercent = 5

const (
	// MinSmallPermille (MinSmallPermilleWeighted where entries have
	// weights) and MaxSmallPercent bound the small queue's share.
	// Loops and stable frequencies drive it to its least, where every
	// entry small holds is one main cannot: on a loop of 1011 keys at 1000
	// entries, 0.5% (5 entries) got 98.12% and 0.1% (1 entry) 98.49%,
	// against Belady's 98.71 (policy suite, 8 replays: loop at 500/750
	// +0.1/+0.2 pp, no other cell moved by more than 0.4, gli at 500
	// -0.37 within its spread of 3.5; perf's synthetic workloads within
	// ±0.2). But where entries weigh many units, 0.1% of the bound may be
	// less than one entry, and no newcomer is read before it duels:
	// cloudphysics's byte hit ratio at 40/160 MiB was 4.85/12.99% at 0.5%,
	// 3.56/13.29 at 0.1%, 2.80/8.91 at 0.01% (policy suite, 8 replays).
	// On pure recency (the LRU stack model) the share rests at its cap:
	// 60% left perf's synthetic recency workload 2.5-3 pp below LRU at 500
	// and 2000 entries, 90% gains +1.5/+2.0 there; the policy suite (8
	// seeds) kept its mean (50.23), gli at 500 entries -0.4, the rest
	// within ±0.3 (TestRecencyStreamComesCloseToLRU); 98% moved the
	// recency workload and sprite by less than 0.1 pp but for sprite at
	// 500/2000 entries (-0.2 to -0.3/+0.13; policy suite, 4 replays,
	// 2026-12-06).
	// On sprite, where LRU leads at 1000 and 2000 entries, a share held at
	// 60-90% comes within 0.1-0.5 pp of LRU (4 hash seeds; but 70-90%
	// from the fill on costs sprite at 250 entries 4-5 pp), and the
	// ghosts (100-150 sampled hits in the small queue's ghost over the
	// trace) take a quarter of it to get there: at 1000 entries, in 16
	// windows of one replay, the share reads 13, 20, 26, 40%, then
	// 55-66%, and ufocache trails LRU by 3-6 pp in the first windows and
	// by 3.5-5 in the last, and is level in between (perf's phases suite,
	// three replays; the reuse just after the fill lies at 500-1000
	// entries, beyond small and its ghost's window); steps twice as large
	// gain sprite 0.3-0.4 pp and lose as much on the zig-zags and p3 at 25k
	// entries (policy suite, 4 replays). Sprite is the only trace where
	// small heads are found read about as often as main's CLOCK heads or
	// more (30-34% against 22-32% at 1000-2000 entries; oltp 9-13%
	// against 14-16%, web12 18% against 21%), but growing by full steps
	// (or twice that) while they are gained sprite at most 0.5 pp and
	// cost the zig-zags 0.5-4.9, where both shares sit near 0 and cross
	// (policy mean 50.24 -> 50.20 / 49.84). With blind admission the
	// zig-zags no longer pay for it (both shares above 20%: sprite at
	// 1000 entries +0.4 to +0.8, at 2000 up to +0.5), but sprite at 250
	// and 500 entries and oltp at 2000 lose as much, and 8 replays left
	// the mean where it was: the signal feeds itself, since the larger
	// small grows the more of its heads are read and the fewer of main's
	// (oltp at 2000 entries ran from 30% to 54-71% of the capacity). Per
	// unit of capacity, small's reads on sprite at 1000-2000 entries are
	// 2-5x as dense as main's, but 3-6x on web12 and 4-23x on
	// cloudphysics, whose shares stay at 3-16%: that ratio does not
	// separate them either.
	MinSmallPermille         = 1
	MinSmallPermilleWeighted = 5
	MaxSmallPercent          = 90
	// ghostPercent is each ghost's window, in evicted entries, as a share of
	// the entries held: the marginal region whose hits the two queues
	// compete for. (10% against 5%: sprite +0.4 to +0.7 pp, the rest
	// within noise. Small's ghost alone at 20% or 40%: sprite at 1000
	// entries +0.1/+0.2, but p3 at 100k -9, sprite at 250 -5 and, at 40%,
	// zig-zags -2 to -12; policy suite, 4 replays.)
	ghostPercent = 10
	// strictPercent: below this small share the workload has shown that
	// main's residents are worth more than newcomers (loops, scans, stable
	// frequencies), and a candidate must beat its victim by strictMargin.
	// (The won bets alone deciding, without this test: zig-zags -0.45 to
	// -0.92 pp, gli at 500 entries -2.3, cloudphysics at 4000/8000
	// -0.9/-0.6, cloudphysics at 16k no better; policy suite, 4 replays.)
	strictPercent = 3
	// margin is how much a candidate's rate (sketch.Rate, in units of
	// sketch.RateOne) must exceed its victim's, beyond a tie: a count-min
	// estimate is one or so above the truth wherever its counters are
	// shared, and a newcomer that merely ties its victim is not worth the
	// churn. strictMargin applies in the strict regime.
	margin       = sketch.RateOne
	strictMargin = sketch.RateOne * 3 / 2
	// readsShift sets the running share of small-queue heads found read:
	// each head moves it 1/2^readsShift of the way. growReads is the share
	// (of readsOne) above which a small-ghost hit grows the small queue by
	// a full step; below it the step shrinks in proportion. readsOne is
	// fine enough for a share to fall far below those thresholds (with
	// 1<<10 it stalled at 63/1024, where x>>readsShift is 0). Every
	// running share (reads, admits, the ghost hits' and the bets') moves
	// at this rate: at 4 or 5, sprite at 1000 entries +0.28/+0.19 pp, but
	// sprite at 500 -0.4, p3 at 400k -0.5/-0.4, cloudphysics at 16k
	// -0.3/-0.35; at 7 or 8, sprite at 250 +0.4 and p3 at 100k -0.4/-2.1,
	// sprite at 1000 -0.1/-0.4 (policy suite, 4 replays; mean 50.505 ->
	// 50.45/50.49/50.50/50.40).
	readsShift = 6
	readsOne   = 1 << 16
	growReads  = readsOne / 16
	// growAdmits: likewise for the running share of duels won (with the
	// same averaging): below one duel in 10 a growth step shrinks.
	growAdmits = readsOne / 10
	// dampFloor: while newcomers win at least one duel in 20, the damping
	// leaves at least 1/dampFloor of a step (see Add).
	dampFloor = 8
	// Blind admission (see blindAdmits) lets in at most blindTimes the
	// capacity in newcomers' weight: a zig-zag at 250 entries scans 7
	// times its capacity before it turns (at 4 it lost 0.5 pp; 16, or no
	// limit, changed nothing on the policy suite). It ends at once when
	// blindReturns sampled keys evicted meanwhile come back, remembered
	// for seenTimes the entries' worth of evictions: a loop longer than
	// the cache, where recency holds nothing it needs. (A window of 8
	// cost gli at 500 entries 1.6 pp; one of 2, or 1 or 4 returns, moved
	// no cell by more than 0.45.)
	// momentumPercent and momentumShift: see momentum.
	momentumPercent = 65
	momentumShift   = 3
	// fillReadPercent: see fillShare.
	fillReadPercent = 40
	blindTimes      = 8
	seenTimes       = 4
	blindReturns    = 2
)

var (
	errBadLink  = errors.New("fifo: a prev link does not match")
	errBadCount = errors.New("fifo: counted length or weight does not match the links")
)

// S3 is one shard's pair of S3-FIFO queues with TinyLFU admission into the
// main queue. Not safe for concurrent use: the shard lock guards it
// (readers only touch entries' frequencies).
//
// The policy: a new entry enters the small queue (a lapsed key excepted:
// see Add). When the small queue holds more than its share, its head
// leaves it, or goes round: if it
// was read since it entered (or last went round), that read is folded into
// the sketch (once, however often); it then moves to main if main has
// room (while the cache fills, at once: see fill). If main is full, a read
// head goes round the small queue again unread (a CLOCK: W-TinyLFU's
// window is an LRU), and an unread one must
// beat the entries main would evict next, by the sketch's rate of their
// frequencies (sketch.Rate: corrected for the phase of the aging) plus a
// margin, or it leaves the cache (W-TinyLFU's
// duel: a burst of reads in the small queue alone does not displace a
// resident that has earned more; a newcomer that loses to a resident rated
// at most one above it is counted once more in the sketch, so that if it
// comes back before the sketch ages it duels two counts higher (this one
// and its return's), and beats a resident rated less than one above its
// first rate (one rated exactly one above ties, and loses again; and not
// in the strict regime): a ghost, as S3-FIFO's, kept in the sketch at no
// cost in memory; admit.go's ghost admission is another). Main evicts
// with CLOCK: a read entry gets another round with its frequency
// decremented. Reads are counted by
// the entries' 2-bit frequencies (no shared write on a Get) and folded
// into the sketch whenever the policy consumes one (leaving or going round
// small, a CLOCK round), so the sketch learns from hits as well as from
// inserts.
//
// The small share adapts on misses (Add): a key that left small unpromoted
// within the last ghostPercent of the entries' worth of evictions, and
// comes back, says small was too short; one that left main that recently
// says main was. Each such miss moves the share by the entry's weight
// (times the ghosts' sampling), between MinSmallPermille (or
// MinSmallPermilleWeighted) and
// MaxSmallPercent; a growth step is scaled down while fewer than one small
// head in 16 was read in the small queue (a small queue that yields no
// reads gains nothing by growing), and while newcomers win fewer than one
// duel in 10 (main's residents are worth what small would take from them),
// but, while they win at least half that, never below 1/dampFloor of a
// step.
// Both ghosts watch a short window, the margin where the two queues
// compete, so that a loop longer than the cache (its rejected keys all
// come back, but much later) does not read as a call for a bigger small
// queue. Each window counts its own ghost's departures, so main's ghost,
// fed far more slowly, reaches further back in time, and a key long gone
// from main that keeps cycling through small reads as main's regret: a
// frequency signal the tuning relies on (ghosts turned together, equal in
// time, gave p3 +0.7 pp but zig-zags -1 to -9, Zipf -0.4 to -2.4, mean
// -0.5; still -0.3 with blind admission, and main's reach capped at 4 or
// 16 times small's cost 0.1-0.3).
// Each shard tunes its own share from its own ghosts; only the momentum
// of small's growth is pooled over the cache's shards (see Pool). One
// share for all the shards of a cache (each ghost hit stepping it, with
// one running share and one run for the momentum) reached its level in a
// thirtieth of the requests: shift at 50k entries (perf's synthetic
// workload, popularity moving to new keys) +2.1 pp, to LRU's level, but p3
// at 400k entries -0.8 (its main ghost's hits took the share from the
// fill's 20% to the least within 1,200 hits) and cloudphysics at 16k -0.4
// (policy suite, 8 replays); with the momentum still per shard, shift
// gained 0.6 and cloudphysics lost 0.35.
// A share driven below strictPercent means the residents keep earning
// their place, and the duel then demands a wider margin from newcomers; so
// do duel wins that stop paying (see strict).
//
// Until some key is seen again (a read the policy finds, or an evicted key
// back), the duel has no evidence, and newcomers enter main without one
// from the first overflow on (see blindAdmits); if a key was already seen
// again while the cache filled, they duel from the first overflow.
type S3[K comparable, V any] struct {
	// Written by inserts; kept together (see shard.TestLayout).
	small, main Queue[K, V]
	n           int   // entries in both queues
	smallCap    int64 // the small queue's current share
	reads       int64 // running share of small heads read, of readsOne
	// admits is the running share of duels the newcomer won, of readsOne,
	// counting a returning key that ghost admission let in as a win
	// (counted only on duels fought: oltp at 250-1000 entries -0.4 to
	// -0.8 pp, mean -0.05, policy suite 8 seeds). A duel is every call of
	// duel: a newcomer let in blind, or one for which expired entries
	// alone made room, counts as a win too.
	admits int64

	capacity int64
	least    int64 // the small queue's least share
	sketch   *sketch.Sketch
	hash     func(K) uint64
	victims  []Gone[K, V] // scratch for admission duels
	// ghosts of the keys that recently left small unpromoted and main.
	smallGhost, mainGhost ghost
	// smallHits is the running share of this shard's ghost hits that were
	// small's, of readsOne (see momentum).
	smallHits int64
	ga        *ghostAdmission[K, V] // see admit.go

	// Blind admission (see blindAdmits): blind is the weight of newcomers
	// still to be let into main without a duel; seen, while it lasts, the
	// sampled keys evicted meanwhile, and returns, how many came back;
	// reuse, whether a key was seen again since Init.
	blind   int64
	seen    *ghost
	returns int32
	reuse   bool
	filled  bool // the queues overflowed since Init
	// mainRun counts main's ghost hits in a row, while main's ghost drew
	// its momentumPercent of this shard's ghost hits (see momentum), up
	// to momentumShift. Small's runs are pooled (see Pool).
	mainRun int8
	shared  bool // pool is the cache's (SharePool), not p's own
	pool    *Pool
	// lapsed remembers the keys of entries that expired in main, or read,
	// and were reclaimed (see Add); nil until the first.
	lapsed *ghost
}

// Init empties the queues and sets the capacity; unit says that every
// entry weighs 1. sk is the admission sketch, which the caller also feeds
// with every insert; hash recomputes a key's hash for it.
func (p *S3[K, V]) Init(capacity int64, unit bool, sk *sketch.Sketch, hash func(K) uint64) {
	pool, shared := p.pool, p.shared
	if !shared {
		pool = NewPool()
	}
	*p = S3[K, V]{capacity: capacity, least: leastShare(capacity, unit), smallCap: max(Share(capacity, SmallPercent, 100), 1), sketch: sk, hash: hash, smallHits: readsOne / 2, pool: pool, shared: shared}
}

// SetCapacity changes the capacity, keeping the queues and what the policy
// learned: the small queue keeps its share of the capacity (within its
// bounds for the new one), and blind admission, if under way, admits at
// most blindTimes the new capacity more. A larger capacity is filled as
// the first one was: its first overflow sets the small share from the
// reads of the fill again (fillShare). The caller then evicts (Evict)
// until the queues fit. unit is Init's.
func (p *S3[K, V]) SetCapacity(capacity int64, unit bool) {
	old := p.capacity
	if capacity == old {
		return
	}
	p.capacity = capacity
	p.least = leastShare(capacity, unit)
	p.smallCap = min(max(Share(capacity, uint64(p.smallCap), uint64(old)), p.least), max(Share(capacity, MaxSmallPercent, 100), 1))
	p.blind = min(p.blind, min(capacity, math.MaxInt64/blindTimes)*blindTimes)
	if capacity > old {
		p.filled = false
	}
}

// leastShare is the small queue's least share of capacity.
func leastShare(capacity int64, unit bool) int64 {
	least := uint64(MinSmallPermilleWeighted)
	if unit {
		least = MinSmallPermille
	}
	return max(Share(capacity, least, 1000), 1)
}

// SharePool makes p tune its small share with m, which the other shards
// of its cache share (see Pool). Init keeps it, and leaves it to the cache
// to reset; p's own pool, Init renews.
func (p *S3[K, V]) SharePool(m *Pool) { p.pool, p.shared = m, true }

// Len returns the number of entries in both queues.
func (p *S3[K, V]) Len() int { return p.n }

// SmallCap returns the small queue's current share, in units of weight.
func (p *S3[K, V]) SmallCap() int64 { return p.smallCap }

// Small and Main expose the queues, for invariant checks.
func (p *S3[K, V]) Small() *Queue[K, V] { return &p.small }
func (p *S3[K, V]) Main() *Queue[K, V]  { return &p.main }

// Weight returns the weight in both queues.
func (p *S3[K, V]) Weight() int64 { return p.small.weight + p.main.weight }

// Add inserts a new entry, whose key hashes to h, at the small queue's
// tail. A new key is a miss: if the key left one queue recently (it is in
// that queue's ghost and not the other's), that queue was too small by
// about the entry's weight, and the small share moves by that much.
//
// But a key whose entry lapsed (expired, and was reclaimed by the sweep or
// the CLOCK) after it had earned its place, in main or read in small since
// it entered or last went round, goes to main's tail at once: much as a
// write over the expired entry, had it still been held, would have kept
// it in the cache (Replace). Expiry is the origin's decision, not the
// policy's. The lapsed keys are remembered in a filter that turns with
// the lapses (about the entries' worth of them, however long that takes),
// so a key that came back to main and left it again unexpired still goes
// back to main while it is remembered; and about one new key in 200 is
// taken for a lapsed one (16 bits a key). Sent through the small queue and
// a duel again, lapsed keys lost where room is short and the sketch's
// counts are low: perf's expiring workloads (a TTL per key, ufocache and
// otter v2, 2026-12-05) had ufocache 0.31 pp under otter v2 on ttl-mix at
// 10k entries, where without TTLs it leads by 0.9, and 1.58 under it on
// ttl-short at 100k. Sent to main: ttl-mix +0.76/+0.28/+0.01 pp at
// 1k/10k/50k entries (4 replays, before and after in one run of each),
// ttl-short +1.34/+1.35 at 10k/100k (3 replays, scratch runs).
// Forgetting them as new keys arrive too (the filter turning every half of
// the entries' worth of new keys) lost most of that (ttl-short +0.18/
// +0.31; with ten times that window, +0.67/+1.15): the keys that pay come
// back long after they lapsed. Keeping expired entries that had been read
// in place instead (the sweep and the CLOCK passing them by) gained as
// much where room is short, but cost 0.6 pp on ttl-mix at 50k entries,
// where they held room live entries needed.
func (p *S3[K, V]) Add(e *Entry[K, V], h uint64) {
	e.meta.Or(queued) // not Store: a reader may have found e in the index and raised its frequency
	p.arrived(e, h)
	if p.lapsed != nil && lapsedBackOn && p.lapsed.has(h) {
		p.toMain(e)
		p.n++
		return
	}
	p.small.pushBack(e)
	p.n++
	if !sampled(h) {
		return
	}
	if p.blind > 0 && p.seen.has(h) {
		if p.returns++; p.returns >= blindReturns {
			p.reused()
		}
	}
	inSmall, inMain := p.smallGhost.has(h), p.mainGhost.has(h)
	d := int64(e.Weight) * int64(ghostSample)
	switch {
	case inSmall && !inMain:
		track(&p.smallHits, true)
		// A small queue whose entries are seldom read there gains little
		// by growing: in a loop a little longer than the cache, keys
		// leave small just before they come back however long it is,
		// and growing it on their ghost hits drove the share to its
		// maximum and the hit ratio from 98% to 81% (one hash seed in
		// 12 on a 1011-key loop at 1000 entries). (Since blind admission
		// and the duels' damping below, the policy suite without this
		// damping keeps its mean and its loops: oltp at 500 entries +0.5
		// pp, cloudphysics at 16k -0.4, 8 replays; kept for the loop.)
		d = damp(d, p.reads, growReads)
		// Nor does one whose heads keep losing their duels: main's
		// residents are earning their place, and every unit small gains
		// is a unit main loses. A zig-zag scan (LRU is optimal there)
		// returns the keys just rejected, and their ghost hits held the
		// share at 2-4% where 1% reaches Belady's optimum.
		d = damp(d, p.admits, growAdmits)
		// But a queue at its least share yields no reads because it is
		// short, and must still be able to grow out of that while its
		// newcomers hold their own in the duels (oltp at 500 entries fell
		// from 34% to 30% in that trap). Not while they win fewer than one
		// duel in 20: with the floor there too, each zig-zag pass still
		// grew the share by a few entries, which main's CLOCK paid for
		// with residents the pass came back to. Without it the zig-zags
		// at 250-1500 entries come within 0.05-0.11/0.16/0.29-0.30/
		// 0.41-0.45 pp of LRU (were 0.06/0.32/0.47/0.64; policy suite, 8
		// replays, two runs; the mean unchanged, oltp at 250 -0.2, the
		// rest within ±0.3 pp). With the floor lifted below one
		// duel in 10 instead, the zig-zags gained as much but oltp at 250
		// and 500 entries lost 0.3-0.5 and p3 at 100k entries in one shard
		// 0.3 (5 hash seeds; 0.17 at one in 20). A floor of 1/16 of a step
		// there (a fraction carried from step to step) left the zig-zag at
		// 1500 entries at -0.58.
		if p.admits >= growAdmits/2 {
			d = max(d, int64(e.Weight)*int64(ghostSample)/dampFloor)
		}
		p.mainRun = 0 // a hit of small's ghost ends main's run
		d <<= p.pool.smallHit()
		p.smallCap = min(p.smallCap+d, max(Share(p.capacity, MaxSmallPercent, 100), 1))
	case inMain && !inSmall:
		track(&p.smallHits, false)
		p.pool.mainHit()
		d = p.momentum(d, readsOne-p.smallHits)
		p.smallCap = max(p.smallCap-d, p.least)
	}
}

// momentum scales a step d of the share by the ghost that was hit:
// while that ghost draws at least momentumPercent of the ghost hits, each
// hit in a run of that ghost's doubles the step, up to 2^momentumShift
// times (ARC likewise scales its step by the ratio of its ghosts' sizes).
// A working set that moved beyond the small queue's reach while main's
// residents sit idle (sprite, oltp at 250-500 entries) shows as a run of
// small-ghost hits, sampled sparsely (a few per 3,000 requests on
// sprite): at one step each, the share took most of the trace to follow
// it. Both ways, so that a run of main-ghost hits takes back what a run of
// small's gave: with growth alone the share ratcheted up in one shard of
// 100k entries on p3 (40.1% -> 34.0%; both ways, 40.6%). Policy suite, 8
// replays: mean 50.38 -> 50.44, sprite at 1000/2000 entries +0.3/+0.45
// pp, oltp at 250/500 +1.2/+0.8, no cell down by more than 0.25 (sprite
// at 250). At 60% sprite at 250 and 500 lost 0.4-0.8; at 70% sprite at
// 1000 gained under 0.3; steps up to 16 times gained no more. Nor did
// engaging sooner: a running share that starts from the mean of the first
// 32-64 hits instead of one half cost p3 at 400k entries 0.8 pp (sprite
// at 1000 +0.3); engaging on any run of 4-6 hits cost p3 at 100k entries
// in one shard 1.5. Scaling each ghost hit by the ghosts' spans in misses
// instead, as ARC does by their sizes, took sprite's share at 1000 entries
// to 80% within a third of the trace and its hit ratio nowhere (sprite at
// 250 -4.3 pp, gli at 500 -2.2; policy suite, 4 replays); lifting the
// damping by duel wins while the bets on duels won pay, nothing beyond
// noise.
//
// Small's side is pooled over the cache's shards (Pool); this is main's,
// with share the shard's own running share of main's ghost hits (of
// readsOne).
func (p *S3[K, V]) momentum(d, share int64) int64 {
	if !momentumOn || share < readsOne*momentumPercent/100 {
		return d
	}
	d <<= p.mainRun
	p.mainRun = min(p.mainRun+1, momentumShift)
	return d
}

// Pool is the part of the small share's tuning that the shards of a cache
// share: the running share of ghost hits that were small's, over all the
// shards, and the current run of small-ghost hits, which engage the
// momentum of small's growth (see S3.momentum). A working set that moves
// moves in every shard at once, but each shard sees only its share of the
// ghost hits, and its own running share barely moved: on perf's shift
// workload (Zipf 0.9 over 200k keys, 7 ranks in 10 passing to new keys
// every 150k requests) at 50k entries, one shard rose to a 27% share
// within half a phase of the first shift and reached 75%; 32 shards (2
// cores' worth) averaged 8% and reached 58% at the end, and got 65.1% hits
// against one shard's 67.2 and LRU's 67.4. Pooled, 32 shards get 66.8,
// and 128 shards 66.6 (63.3 unpooled); shift at 10k entries (8 shards)
// +0.2 pp. Main's side stays per shard: pooled too, it took p3 at 400k
// entries (32 shards) from the fill's 21% share to the least within 4,500
// ghost hits, and its hit ratio from 76.9% to 76.1% (policy suite, 8
// replays). Pooling small's side alone: p3 at 400k -0.25 pp, gli at 500
// -0.47 (one shard, where nothing changed: its replays spread over 3 pp),
// no other cell moved by more than 0.15, the mean 50.53 -> 50.50. A hit of
// one ghost alone (1 in ghostSample keys, on a miss) updates the pool with
// a compare-and-swap, retried if another shard's came first.
type Pool struct {
	// w holds the running share (of readsOne) in its low 32 bits and the
	// run above them.
	w atomic.Uint64
}

// NewPool returns a pool with no ghost hits yet: a running share of one
// half.
func NewPool() *Pool {
	m := new(Pool)
	m.Reset()
	return m
}

// Reset forgets the ghost hits.
func (m *Pool) Reset() { m.w.Store(readsOne / 2) }

// smallHit records a hit of a small ghost and returns the shift to apply
// to its step.
func (m *Pool) smallHit() (shift int8) {
	for {
		old := m.w.Load()
		share, run := int64(uint32(old)), int8(old>>32)
		track(&share, true)
		shift = 0
		if momentumOn && share >= readsOne*momentumPercent/100 {
			shift, run = run, min(run+1, momentumShift)
		}
		if m.w.CompareAndSwap(old, uint64(run)<<32|uint64(share)) {
			return shift
		}
	}
}

// mainHit records a hit of a main ghost: the running share falls, and
// small's run ends.
func (m *Pool) mainHit() {
	for {
		old := m.w.Load()
		share := int64(uint32(old))
		track(&share, false)
		if m.w.CompareAndSwap(old, uint64(share)) {
			return
		}
	}
}

// momentumOn: a test turns it off to measure what it is worth.
var momentumOn = true

// Replace puts e where old was, with old's frequency plus one (the write
// counts as a read of the key, as a Get would), and unlinks old. e takes
// over old's flags: a returning key is still returning, and a bet old was
// admitted on is now e's (read, as far as the bet goes). Nothing is
// written to old: a Set of a hot key would otherwise pull old's cache
// line away from the cores reading it (old is unreachable from the queue
// and the index; it is not flagged dead). A read of old that a reader
// counts after this takes old's frequency is lost (see shard.Set).
func (p *S3[K, V]) Replace(old, e *Entry[K, V]) { p.replace(old, e, 1) }

// Swap is Replace without the read: e keeps old's frequency. For a write
// that only changes the entry's expiry (RTCache.Invalidate): an expired
// entry gains no frequency.
func (p *S3[K, V]) Swap(old, e *Entry[K, V]) { p.replace(old, e, 0) }

func (p *S3[K, V]) replace(old, e *Entry[K, V], read uint32) {
	m := old.meta.Load()
	f := min(m&freqMask+read, freqMask)
	keep := uint32(inMain | queued | returning)
	if m&betting != 0 && p.ga != nil {
		keep |= betting | slotMask<<betShift
		p.ga.bets[m>>betShift&slotMask].e = e
	}
	e.meta.Store(m&keep | f)
	p.queueOf(m).swap(old, e)
}

// lapsedBitsPerKey: the lapsed keys' filter costs 2-4 bytes per entry
// held (two filters of half the window, rounded up to powers of two),
// allocated at the first lapse; a new key is taken for a lapsed one about
// once in 200.
const lapsedBitsPerKey = 16

// lapsedBackOn: a test turns it off to measure what it is worth.
var lapsedBackOn = true

// lapse remembers e's key (hash h) if e, expired and leaving, was in main
// or read since it entered or last went round small: the key goes to main
// if it comes back within about the entries' worth of lapses (see Add).
func (p *S3[K, V]) lapse(e *Entry[K, V], h uint64) {
	if e.meta.Load()&inMain != 0 || e.Freq() > 0 {
		if p.lapsed == nil {
			p.lapsed = &ghost{bits: lapsedBitsPerKey}
		}
		p.lapsed.add(h, max(p.n, 1))
	}
}

// RemoveExpired is Remove for an expired entry that the expiry sweep
// reclaims; h is its key's hash.
func (p *S3[K, V]) RemoveExpired(e *Entry[K, V], h uint64) {
	if e.meta.Load()&queued != 0 {
		p.lapse(e, h)
	}
	p.Remove(e)
}

// Remove unlinks a queued entry.
func (p *S3[K, V]) Remove(e *Entry[K, V]) {
	m := e.meta.Load()
	if m&queued == 0 {
		return
	}
	p.examined(e)
	p.queueOf(m).unlink(e)
	p.n--
	e.meta.Store(dead)
}

func (p *S3[K, V]) queueOf(m uint32) *Queue[K, V] {
	if m&inMain != 0 {
		return &p.main
	}
	return &p.small
}

// toMain moves e, a small head whose reads headRead took, to main's tail:
// its frequency counts only the reads since, so it must earn its next
// round there.
func (p *S3[K, V]) toMain(e *Entry[K, V]) {
	e.setFlags(queued | inMain)
	p.main.pushBack(e)
}

// pushFront puts a popped entry back at the head of the queue it came from.
func (p *S3[K, V]) pushFront(e *Entry[K, V]) {
	p.queueOf(e.meta.Load()).pushFront(e)
}

// ScratchKept bounds the scratch lists of victims that a shard's Sets
// reuse (the duel's, and the shard's of entries a Set evicted): a list
// that grew longer, for a heavy value that displaced that many entries,
// is left to the collector rather than kept (17 MB held, through Clear
// too, until the cache was dropped, after one value evicted a million
// entries). Sets evicting more than this many allocate their own.
const ScratchKept = 1024

// Reuse updates *kept, the scratch list of victims kept for the next Set
// or duel, after used, the list one just filled from (*kept)[:0] and
// cleared: to used, if it grew (no store otherwise) and not past
// ScratchKept. A used that grew was filled in kept's array up to its
// capacity before append moved it to a larger one, so kept's array is
// cleared then: left as it was, a kept list outgrown by a long eviction
// held its first victims, up to ScratchKept entries with their values,
// until later Sets wrote over them
// (TestValuesEvictedByAHeavyValueAreCollectable). Only a list that grew
// pays for the clearing, once per growth, and only it writes *kept.
func Reuse[K comparable, V any](kept *[]Gone[K, V], used []Gone[K, V]) {
	if cap(used) == cap(*kept) { // the same array, cleared
		return
	}
	clear((*kept)[:cap(*kept)])
	if cap(used) <= ScratchKept {
		*kept = used[:0]
	}
}

// Gone is an entry that Evict took out, unlinked and flagged dead, with
// its key's hash: the caller removes it from its index without hashing
// the key again.
type Gone[K comparable, V any] struct {
	E *Entry[K, V]
	H uint64
}

// Evict removes entries until the queues fit the capacity, appending each
// one it takes out to out. protect, if not nil, is never chosen: the
// entry its caller just stored, which fits alone.
func (p *S3[K, V]) Evict(now int64, protect *Entry[K, V], out []Gone[K, V]) []Gone[K, V] {
	var aside *Entry[K, V] // protect, while it is unlinked
	var asideW int64
	// Weight sent round the small queue by this call: bounds the rounds
	// if readers keep touching every entry in it. met does the same for
	// main's CLOCK (see clock).
	var rounds int64
	met := 0
	p.fill(now, protect)
	if !p.filled && p.Weight() > p.capacity {
		p.filled = true
		if fillShareOn {
			p.smallCap = max(p.smallCap, fillShare(p.capacity, p.reads))
		}
		if !p.reuse {
			p.blind = min(p.capacity, math.MaxInt64/blindTimes) * blindTimes
			p.seen = &ghost{}
		}
	}
	for p.Weight()+asideW > p.capacity {
		if p.small.weight > p.smallCap || p.main.weight == 0 {
			if c := p.small.popFront(); c != nil {
				switch {
				case c == protect:
					aside, asideW = c, int64(c.Weight)
				case expired(c, now):
					out = p.drop(c, p.hash(c.Key), now, out)
				default:
					h := p.hash(c.Key)
					read := p.headRead(c, h)
					room := p.main.weight+int64(c.Weight) <= p.capacity-p.smallCap
					if !room && read && rounds < p.small.weight {
						// Read since it entered or last went round, and
						// main is full: it goes round again, unread
						// (W-TinyLFU's window is an LRU; this CLOCK is
						// its lock-free cousin). It duels once it comes
						// back to the head unread, with its rounds
						// counted in the sketch; a returning key is still
						// returning (its claim to ghost admission does
						// not lapse because it was read).
						rounds += int64(c.Weight)
						c.setFlags(queued | c.meta.Load()&returning)
						p.small.pushBack(c)
						if smallRound != nil {
							smallRound(c)
						}
						continue
					}
					if room {
						p.toMain(c)
					} else {
						out = p.duel(c, h, now, protect, p.capacity-asideW, &met, out)
					}
				}
				continue
			}
		}
		v := p.clock(now, &met)
		if v == nil {
			break // only protect is left
		}
		if v == protect {
			aside, asideW = v, int64(v.Weight)
			continue
		}
		out = p.drop(v, p.hash(v.Key), now, out)
	}
	if aside != nil {
		if aside.meta.Load()&inMain != 0 {
			// The CLOCK reached the entry just stored in main (a lapsed
			// key at main's tail, see Add, or a Replace's): it goes
			// round, as a read entry would, not back to the head where
			// the next eviction would take it first.
			p.main.pushBack(aside)
		} else {
			p.pushFront(aside)
		}
	}
	return out
}

// fill moves small heads on to main while the small queue holds more than
// its share and main has room for them (the cache is filling, or entries
// left), read or not, as S3-FIFO's later version does. Left in small until
// the cache first overflowed, they all went to main at once with their
// frequencies cleared, and the CLOCK then evicted in insertion order the
// entries read while the cache filled (p3 at 400k entries, policy suite:
// 73.66% -> 75.36%).
func (p *S3[K, V]) fill(now int64, protect *Entry[K, V]) {
	for p.small.weight > p.smallCap {
		c := p.small.head
		if c == protect || expired(c, now) || p.main.weight+int64(c.Weight) > p.capacity-p.smallCap {
			return // protect and expired entries: Evict's loop deals with them
		}
		p.small.popFront()
		p.headRead(c, p.hash(c.Key))
		p.toMain(c)
	}
}

// fillShare returns the small share the queues start from when they first
// overflow, given reads, the running share of small heads read while the
// cache filled: fillReadPercent of it, as a share of the capacity (never
// above MaxSmallPercent). A cache that fills slowly, its newcomers read
// within the small queue's 5% of the capacity, has shown reuse at short
// range; a larger small queue holds that reuse once main is full, and the
// ghosts, which only watch the margin just past each queue, cannot find
// it: on p3 at 400k entries (it fills in 1.65M requests, 37% of small
// heads read by then) they took the share to 1% and the hit ratio to
// 75.3%, where a share held at 30% gets 78%. Traces that fill in about
// one capacity's worth of requests read almost no small head by then
// (gli, multi2, p3 at 25k-100k entries: under 1%) and keep SmallPercent.
// Policy suite, 8 replays: p3 at 400k +1.45 pp, no other cell moved by
// more than 0.3; 30% and 50% gain p3 +0.9 to +1.0, but 60% +0.35 and
// 80% -0.3 (main, left too short, loses the old extents the trace
// comes back to); 70, 100 and 150% (for sprite, whose share climbs from
// 13% over a quarter of the trace at 1000 entries) gain sprite at 1000
// entries 0.18-0.27 pp and cost p3 at 400k 0.8-2.0 (policy suite, 4
// replays). The small queue then fills up to its new share by
// evicting main's CLOCK victims, among them entries read only while they
// were in small during the fill (fill moved them to main with their reads
// in the sketch and their frequency cleared); keeping one read for them
// in main cost gli at 500 entries 0.9 pp and p3 at 400k 0.4.
// fillShareOn: a test turns it off to measure what it is worth.
var fillShareOn = true

func fillShare(capacity, reads int64) int64 {
	want := Share(capacity, uint64(reads)*fillReadPercent/100, readsOne)
	return min(want, max(Share(capacity, MaxSmallPercent, 100), 1))
}

// headRead reports whether c, leaving the small queue's head (its key
// hashes to h), was read since it entered or last went round; its reads
// count once in the sketch, and in the running share of heads read.
//
// It takes the reads (the frequency drops to 0), and what goes on with c
// keeps any read that comes after: a reader on another core may read c
// while its duel runs (TestTouchDuringDuelIsKept). Counting them as the
// frequency (1-3 adds) or twice instead cost p3 at 400k entries 1.0-1.1
// pp (policy suite, 4 replays).
func (p *S3[K, V]) headRead(c *Entry[K, V], h uint64) bool {
	read := c.takeFreq() > 0
	if read {
		p.reused()
		p.sketch.Add(h)
	}
	track(&p.reads, read)
	return read
}

// clock unlinks main's next victim: the first entry that is expired or has
// frequency 0; read entries met on the way go round again with their
// frequency decremented, and that read is folded into the sketch.
//
// Unread, an entry goes round at most freqMask times; but readers on other
// cores may raise the frequencies again as fast as this loop lowers them,
// so once the Evict calling it has sent round, over all its calls (*met),
// (freqMask+1) times as many entries as the queues hold, it takes the
// head whatever its frequency: the Set that called it always ends, after
// O(n) steps even where a heavy newcomer takes many victims (a count per
// call let one Set of 3,600 victims take 231M steps, 7.4 s, at 4,000
// entries: TestHeavyNewcomerClockIsBoundedPerEvict). With no reader
// racing it, an Evict never sends so many round: each entry goes round
// at most freqMask times. (The read a round takes, left out of the
// sketch, cost the loops up to 9.9 pp and the zig-zags up to 5.6;
// counted twice, nothing moved; policy suite, 4 replays.) Taking all of
// its reads instead of one (a 1-bit CLOCK, as close to LRU as a CLOCK
// gets) moved neither perf's recency workload (the LRU stack model, where
// ufocache trails LRU by 0.8-0.9 pp at 500-2000 entries) nor sprite at
// 1000-2000 entries by more than 0.1 pp, and cost sprite at 250/500
// 1.0-1.2/0.5-0.6 (policy suite, 4 replays, 2026-12-06): main's order is
// not what keeps ufocache under LRU there.
func (p *S3[K, V]) clock(now int64, met *int) *Entry[K, V] {
	for ; ; *met++ {
		e := p.main.popFront()
		if e == nil {
			return p.small.popFront()
		}
		p.examined(e)
		if e.Freq() == 0 || expired(e, now) || *met > (freqMask+1)*p.n {
			return e
		}
		p.reused()
		e.decFreq()
		p.sketch.Add(p.hash(e.Key))
		p.main.pushBack(e)
		if clockRound != nil {
			clockRound(e)
		}
	}
}

// clockRound, if not nil, is called with each entry the CLOCK sends round:
// a test's stand-in for a reader touching it at once. smallRound is the
// same for read heads Evict sends round the small queue.
var clockRound, smallRound func(any)

// duel decides between c (whose key hashes to h), leaving the small queue
// when main is full, and the main entries it would displace: c enters main
// only if the sketch rates it above their mean estimate, weighted by their
// weights; otherwise c leaves and they stay where they were. (A frequency
// is what a unit of weight yields in hits of that weight, so an entry that
// displaces several is worth what they yield together.)
//
// Expired entries met on the way leave at once; if that alone makes room
// within limit, c enters main without displacing anyone else (live
// victims taken before the expired entries go back to main's head).
//
// Two ways around the margin were tried and left out (policy suite, 4
// replays): letting any newcomer seen at all beat victims the sketch has
// not counted since it started afresh won back cloudphysics's phase just
// after the fill, but cost gli at 500 entries 10.6 pp (a loop's residents
// are not counted again until it comes round); letting a newcomer in once
// the same victim had turned away 8 in a row gained sprite at 1000 entries
// 0.6 pp and cost oltp 0.6-1.6, gli at 250 2.1 and cloudphysics at 16k
// 1.5 (32 or 128 in a row: no cell moved by more than 0.5).
// Nor did these (policy suite, 4 replays, mean 50.53 before): a margin of
// 0 or half an occurrence while the bets on duels won pay (over 30, 50 or
// 70%: mean 49.74 to 50.51, gli at 500 entries down to -14 pp, no gain on
// sprite or cloudphysics); a margin of 0 against victims rated 0, always
// or while a tenth or a quarter of the keys arriving are recent rejections
// (sprite at 1000 +0.17 at most; always, gli at 500 -10.5); a margin that
// ramps up from 0 over 1-4 capacities' worth of misses after the fill
// (gli at 500 -5.9 to -13); victims never found read in main losing ties,
// as in SLRU's probation (gli -3 to -14); victims idle in main for more
// than the capacity in misses losing ties or rated half (cloudphysics at
// 16k -4.3, or loops and zig-zags -8 to -24); and dueling the lower rated
// of the next two CLOCK victims (mean 50.50, gli at 500 -0.85). Right
// after the fill sprite and cloudphysics want newcomers in (most duels
// there are a newcomer rated 0.5-1 against a victim rated 0), but each way
// of letting them in also lets in gli's loop keys, and on cloudphysics at
// 16k it won the window after the fill and lost as much in a later one.
// On cloudphysics at 16k entries, in 16 windows of 7,117 requests, theine
// leads by 20-28 pp in windows 6, 12 and 13 and trails by 18-43 in 10 and
// 11 (perf's phases suite). In windows 4-7 nearly every duel is a newcomer
// seen once since the sketch started afresh (rated 0.5-0.7) against a
// fill resident not counted since (0), lost on the margin; by window 12
// the share has sunk to its least and the strict regime turns away the
// next working set (losers rated 1.4 against 1.0; a scratch probe of the
// duels). No small share held from the fill closes it: at 0.2, 1, 3, 5,
// 10, 20, 40, 60 and 90%, 43.1, 43.1, 43.8, 43.6, 43.6, 42.9, 41.6, 40.6
// and 35.6% (adaptive: 43.5; theine 44.4; policy suite, 2-4 replays);
// the same shares give sprite at 1000 entries 86.1 to 90.2% (LRU 90.6)
// and sprite at 250 entries at most 56.6 (at 5%) and 50.6 at 90%.
// Nor does telling first-timers from returning keys: margin 0 against
// victims rated 0 for a newcomer whose key was not among the last 1, 2
// or 4 capacities' worth of misses (an exact map, in a scratch run) cost
// gli at 500 entries 10.7 pp and cloudphysics at 16k 0.5-0.7, and gained
// sprite at 1000 at most 0.16 (mean 50.51 -> 50.08-50.11; policy suite,
// 4 replays).
// A returning newcomer let in against a victim idle in main for more than
// the capacity in misses (LIRS's rule), at margin 0 or outright, moved
// nothing (oltp -0.6 outright). What a loser gets was tried too: no count
// once more (gli at 1000 -0.6, sprite at 250/500 -0.45), one for every
// loser or in the strict regime too (loops -7 to -12, zig-zags -3 to -6),
// or another lap in small instead of leaving (loops, gli, zig-zags and
// multi2 -5 to -49).
func (p *S3[K, V]) duel(c *Entry[K, V], h uint64, now int64, protect *Entry[K, V], limit int64, met *int, out []Gone[K, V]) []Gone[K, V] {
	freq := p.sketch.Rate(h)
	returned := c.meta.Load()&returning != 0
	m := uint32(margin)
	if p.strict() {
		m = strictMargin
	}
	victims := p.victims[:0]
	admit := true
	// The victims' estimates times their weights, and their weight. rated
	// is 128 bits wide: a weighted cache's bound may be near MaxInt64, and
	// rates (up to 2^12) times that much weight overflow 64 bits.
	var rated wide
	var weight int64
	// Main's share, or c's weight if c alone is heavier: c displaces at
	// most the whole of main, never the small queue (whose entries, once
	// main was empty, a heavy c used to take as victims too, up to the
	// entry just stored, which always lost it the duel).
	room := max(p.capacity-p.smallCap, int64(c.Weight))
	passed := false // protect went round
	for p.main.weight+int64(c.Weight) > room {
		v := p.clock(now, met)
		if v == nil {
			break
		}
		if v == protect { // before expiry: protect is never chosen
			if !passed && v.meta.Load()&inMain != 0 {
				// protect in main (a Replace's, or a lapsed key's) goes
				// round, as Evict's aside does, and the duel goes on
				// with the entries after it: it used to end here, and c
				// lost whatever the rates (TestDuelGoesOnPastProtect).
				passed = true
				p.main.pushBack(v)
				continue
			}
			victims = append(victims, Gone[K, V]{E: v})
			admit = false
			break
		}
		if expired(v, now) {
			out = p.drop(v, p.hash(v.Key), now, out)
			if p.Weight()+weight+int64(c.Weight) <= limit {
				// The expired entries alone made room (the victims taken
				// so far are unlinked, not yet gone): they go back.
				p.putBack(victims)
				clear(victims)
				victims, rated, weight = victims[:0], wide{}, 0
				break
			}
			continue
		}
		hv := p.hash(v.Key) // once: for the estimate, the ghosts and the caller
		victims = append(victims, Gone[K, V]{v, hv})
		rated.addMul(uint64(p.sketch.Rate(hv)), uint64(v.Weight))
		weight += int64(v.Weight)
	}
	// Blind, c enters without comparison (blindAdmits), as does a
	// returning newcomer the gate lets in (admit.go). Otherwise c must
	// beat the mean by the margin; it lost narrowly if the mean is at most
	// one occurrence above its own rate.
	blind := admit && weight > 0 && p.blindAdmits(c)
	bypass := admit && !blind && returned && weight > 0 && p.mayEnter()
	narrow := false
	if admit && !blind && !bypass && weight > 0 && !rated.plus(uint64(m), uint64(weight)).below(uint64(freq), uint64(weight)) {
		admit, narrow = false, !rated.above(uint64(freq+sketch.RateOne), uint64(weight))
	}
	track(&p.admits, admit)
	if admit {
		for _, v := range victims {
			out = p.drop(v.E, v.H, now, out)
		}
		p.toMain(c)
		if weight > 0 {
			p.wager(c, victims[0].H, !bypass)
		}
	} else {
		if narrow && m == margin {
			// A close loss counts once more in the sketch: if c comes
			// back before the sketch ages, it wins its next close duel
			// (but a tie at exactly one above: see S3), as S3-FIFO
			// admits a key its ghost remembers, and if it does not,
			// aging fades the count. Not in the strict regime,
			// where the residents have shown they are worth more.
			p.sketch.Add(h)
		}
		p.putBack(victims)
		p.rejected(h)
		out = p.drop(c, h, now, out) // its hash is at hand: no second one
	}
	clear(victims)
	Reuse(&p.victims, victims)
	return out
}

// putBack returns the victims a duel took, in the order the CLOCK took
// them, to main's head.
func (p *S3[K, V]) putBack(victims []Gone[K, V]) {
	for i := len(victims) - 1; i >= 0; i-- {
		p.pushFront(victims[i].E)
	}
}

// blindAdmits reports whether c enters main without a duel because no key
// has been seen again since Init (a small head read while the cache
// filled counts: then blind admission never starts), and counts c against
// the limit if so. Starting it at the first overflow whatever the fill
// read moved no cell of the policy suite by more than 0.33 pp (4 replays,
// mean 50.52 either way). Until then the sketch has nothing to rate: every key
// was seen once (it starts afresh at the first overflow, see shard.Set),
// and a duel between equals goes to whoever its count-min noise and its
// aging phase favour, or to the residents on the margin. Recency is then
// the only evidence, and newcomers displace residents in CLOCK order, as
// in LRU. On a zig-zag (keys 0..2000 up, then down, ...) the residents
// used to turn away the first sweep's newcomers, which came back seen
// twice right after the turn and evicted those residents just before the
// sweep reached them: 50 hits in the first backward pass at 1000 entries,
// against LRU's 999; now 999 (TestZigZagFollowsLRUFromTheFirstTurn).
// Any read the policy finds (a small head or a CLOCK head read), or
// blindReturns sampled keys evicted meanwhile that come back, ends it for
// good; so does a scan of blindTimes the capacity (a loop much longer
// than the cache returns its keys after the seen ghost forgets them).
// Policy suite, 4 replays: zig-zags +0.6/+1.0/+2.0/+1.1 pp at 250/500/
// 1000/1500 entries, every other cell within ±0.3.
// Left out (policy suite, 8 replays): reads ending it only once a quarter
// (or a tenth) of main's CLOCK heads are found read, or never: the phase
// after cloudphysics's fill, and p3's at 100k entries, want newcomers in,
// and gained 0.4-0.8 pp at 16k and 100k entries, but gli's loop reads the
// fill's residents only when it comes round, and lost 2-16 pp at 250-1000
// entries (and cloudphysics at 8000, 0.9). Small heads' reads alone not
// ending it changed nothing: a CLOCK read follows within a few requests.
// Nor did starting it at every first overflow and ending it only once the
// bets on its admissions stop paying (under 30% or 45%): cloudphysics at
// 16k entries +0.4 to +0.7 pp, but gli at 250/500 -7.6/-15.6 (the bets
// settle a CLOCK cycle late, after the loop lost its residents).
func (p *S3[K, V]) blindAdmits(c *Entry[K, V]) bool {
	if p.blind <= 0 {
		return false
	}
	if p.blind -= int64(c.Weight); p.blind <= 0 {
		p.reused() // the limit: blind admission ends as if a key came back
	}
	return true
}

// reused ends blind admission for good: a key was seen again (or the
// limit reached), and its ghost is released.
func (p *S3[K, V]) reused() {
	if !p.reuse {
		p.reuse, p.blind, p.seen = true, 0, nil
	}
}

// strict reports whether the workload has shown that main's residents are
// worth more than newcomers: the ghosts drove the small share below
// strictPercent (loops, scans, stable frequencies), or fewer than
// wonPercent of the bets on duels won pay (each newcomer that won bets it
// is read before its first victim comes back). A zig-zag scan at 250
// entries could win a tenth of its duels on count-min noise and never
// shrink the small share, and then each newcomer displaced one admitted a
// little earlier: 0.5% hits under 1 hash seed in 300, 4.7% under another,
// where LRU gets 12%.
func (p *S3[K, V]) strict() bool {
	won := p.admission().won // allocates it: a duel won next bets in it
	return below(p.smallCap, p.capacity, strictPercent, 100) || won < readsOne*wonPercent/100
}

// drop flags e dead and appends it to out; h is e's hash. An entry that
// expired leaves no ghost in the queues' ghosts: kept longer, it would not
// have hit, so its key coming back says nothing of either queue's size
// (as for one the expiry sweep removes). Its key may be remembered as
// lapsed instead (see Add). Blind admission's seen ghost takes it while
// it lasts: that ghost asks only whether keys come back, and a key
// fetched again once it expired does.
func (p *S3[K, V]) drop(e *Entry[K, V], h uint64, now int64, out []Gone[K, V]) []Gone[K, V] {
	if expired(e, now) {
		p.lapse(e, h)
	}
	if sampled(h) {
		if p.blind > 0 {
			p.seen.add(h, max(p.n*seenTimes/int(ghostSample), 1))
		}
		if !expired(e, now) {
			limit := max(p.n*ghostPercent/100/int(ghostSample), 1)
			if e.meta.Load()&inMain != 0 {
				p.mainGhost.add(h, limit)
			} else {
				p.smallGhost.add(h, limit)
			}
		}
	}
	p.n--
	e.meta.Store(dead)
	return append(out, Gone[K, V]{e, h})
}

// wide is an unsigned 128-bit sum of products, for the duel's weighted
// rates.
type wide struct{ hi, lo uint64 }

// addMul adds x*y.
func (a *wide) addMul(x, y uint64) {
	hi, lo := bits.Mul64(x, y)
	var carry uint64
	a.lo, carry = bits.Add64(a.lo, lo, 0)
	a.hi += hi + carry
}

// plus returns a + x*y.
func (a wide) plus(x, y uint64) wide {
	a.addMul(x, y)
	return a
}

// below reports whether a < x*y.
func (a wide) below(x, y uint64) bool {
	hi, lo := bits.Mul64(x, y)
	return a.hi < hi || a.hi == hi && a.lo < lo
}

// above reports whether a > x*y.
func (a wide) above(x, y uint64) bool {
	hi, lo := bits.Mul64(x, y)
	return a.hi > hi || a.hi == hi && a.lo > lo
}

// track moves a running share (of readsOne) 1/2^readsShift of the way
// towards readsOne if yes, towards 0 if not.
func track(share *int64, yes bool) {
	if yes {
		*share += (readsOne - *share) >> readsShift
	} else {
		*share -= *share >> readsShift
	}
}

// damp scales a growth step d by a running share: in full from full (of
// readsOne) up, in proportion below it.
func damp(d, share, full int64) int64 {
	return d * min(readsOne, share*(readsOne/full)) / readsOne
}

// Share returns x*num/den, rounded down, for x >= 0 and num <= den, without
// overflow for any int64 x (a weighted cache may be bounded by MaxInt64).
func Share(x int64, num, den uint64) int64 {
	hi, lo := bits.Mul64(uint64(x), num)
	q, _ := bits.Div64(hi, lo, den)
	return int64(q)
}

// below reports whether a < x*num/den, exactly (a, x >= 0).
func below(a, x int64, num, den uint64) bool {
	ah, al := bits.Mul64(uint64(a), den)
	xh, xl := bits.Mul64(uint64(x), num)
	return ah < xh || ah == xh && al < xl
}

func expired[K comparable, V any](e *Entry[K, V], now int64) bool { return e.ExpiredAt(now) }
