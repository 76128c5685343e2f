// Package synth generates request streams with a known structure that the
// bundled traces lack or show only in passing: popularity that shifts,
// scans through a hot set, a loop beside a hot set, pure recency,
// tenants whose shares of the traffic swing, keys that fade, and keys
// reused at two distances. They stand for the traffic a
// proxy meets that no trace in testdata was recorded from, so the policy
// is measured outside the workloads it was tuned on.
//
// Every stream is a pure function of its parameters and seed. Keys are
// scattered over the uint64 space (zipf.Key of a distinct integer), and
// the families of keys a stream draws from (Zipf ranks, fresh keys,
// loop keys, each tenant's keys) never collide.
package synth

import (
	"container/heap"
	"math/rand/v2"

	"github.com/ufocache/ufocache/perf/zipf"
)

// Key families: each draws from its own range of integers before
// zipf.Key scatters them.
const (
	family = 1 << 40 // integers per family
	fresh  = 1 * family
	looped = 2 * family
	second = 3 * family
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// Shift is a Zipf stream of n requests over keys ranks with exponent s
// whose popularity moves every phase requests: at each new phase, the
// ranks r with r%10 < moved10 are held by keys never seen before (a new
// release, a new day's news), and the others keep their keys.
func Shift(n, keys int, s float64, phase, moved10 int, seed uint64) []uint64 {
	d := zipf.New(keys, s)
	r := rng(seed)
	out := make([]uint64, n)
	for i := range out {
		rank := d.Rank(r)
		k := uint64(rank)
		if p := i / phase; p > 0 && rank%10 < moved10 {
			k += uint64(p) * uint64(keys)
		}
		out[i] = zipf.Key(int(k))
	}
	return out
}

// Fade is a Zipf stream of n requests over keys ranks with exponent s in
// which every key enters as the hottest and sinks one rank every step
// requests, for good (a feed, the news, a release that ages): at request
// i, rank r is held by the i/step-r'th key. A key's past counts then
// overrate it: its best days are behind it.
func Fade(n, keys int, s float64, step int, seed uint64) []uint64 {
	d := zipf.New(keys, s)
	r := rng(seed)
	out := make([]uint64, n)
	for i := range out {
		out[i] = zipf.Key(fresh + keys + i/step - d.Rank(r))
	}
	return out
}

// ScanMix is a Zipf stream over keys ranks with exponent s into which,
// every every requests, a scan of scan keys never seen before is inserted
// (a batch job, a crawler): n Zipf requests in all, plus the scans.
func ScanMix(n, keys int, s float64, every, scan int, seed uint64) []uint64 {
	d := zipf.New(keys, s)
	r := rng(seed)
	out := make([]uint64, 0, n+n/every*scan)
	next := fresh
	for i := range n {
		if i > 0 && i%every == 0 {
			for range scan {
				out = append(out, zipf.Key(next))
				next++
			}
		}
		out = append(out, zipf.Key(d.Rank(r)))
	}
	return out
}

// LoopMix interleaves at random, half and half, a Zipf stream over keys
// ranks with exponent s and a loop over loop keys (a periodic refresh
// beside user traffic): n requests in all.
func LoopMix(n, keys int, s float64, loop int, seed uint64) []uint64 {
	d := zipf.New(keys, s)
	r := rng(seed)
	out := make([]uint64, n)
	l := 0
	for i := range out {
		if r.IntN(2) == 0 {
			out[i] = zipf.Key(d.Rank(r))
			continue
		}
		out[i] = zipf.Key(looped + l)
		if l++; l == loop {
			l = 0
		}
	}
	return out
}

// Recency is the LRU stack model: each request reuses, with probability
// reuse, the key at a stack depth drawn from an exponential distribution
// of mean depth (the most recently used key is at depth 0), and otherwise
// asks for a key never seen before; the stack keeps the last limit keys.
// Recency is all the stream has: LRU is the best online policy for it,
// and frequency carries no information beyond recency.
func Recency(n int, reuse, depth float64, limit int, seed uint64) []uint64 {
	r := rng(seed)
	out := make([]uint64, n)
	// The stack is the last limit keys of s, the most recent last; s is
	// cut back to them whenever it reaches twice that.
	s := make([]int, 0, 2*limit)
	next := 0
	for i := range out {
		var k int
		if len(s) > 0 && r.Float64() < reuse {
			d := min(int(r.ExpFloat64()*depth), len(s)-1, limit-1)
			j := len(s) - 1 - d
			k = s[j]
			copy(s[j:], s[j+1:])
			s[len(s)-1] = k
		} else {
			k = fresh + next
			next++
			if len(s) == 2*limit {
				s = s[:copy(s, s[limit:])]
			}
			s = append(s, k)
		}
		out[i] = zipf.Key(k)
	}
	return out
}

// Tenants interleaves two Zipf populations, a over aKeys ranks with
// exponent aS and b over bKeys ranks with exponent bS, whose share of the
// traffic swings every period requests between bLow and bHigh (a tenant
// with a daily peak): n requests in all.
func Tenants(n, aKeys int, aS float64, bKeys int, bS float64, bLow, bHigh float64, period int, seed uint64) []uint64 {
	da, db := zipf.New(aKeys, aS), zipf.New(bKeys, bS)
	r := rng(seed)
	out := make([]uint64, n)
	for i := range out {
		p := bLow
		if i/period%2 == 1 {
			p = bHigh
		}
		if r.Float64() < p {
			out[i] = zipf.Key(second + db.Rank(r))
		} else {
			out[i] = zipf.Key(da.Rank(r))
		}
	}
	return out
}

// Sessions is a table of live sessions (a proxy's sticky sessions, a
// connection table): about live sessions are open at once, each asks
// a number of requests drawn uniformly from [minLen, maxLen] and then
// ends for good, and each request comes from an open session chosen
// uniformly. A new session opens whenever fewer than live are open. A
// cache of live entries or more can hold every open session: LRU misses
// little but each session's first request, while a policy that keeps
// what was once frequent keeps ended sessions and turns open ones away.
func Sessions(n, live, minLen, maxLen int, seed uint64) []uint64 {
	r := rng(seed)
	out := make([]uint64, n)
	type session struct{ key, left int }
	open := make([]session, 0, live)
	next := 0
	for i := range out {
		for len(open) < live {
			open = append(open, session{fresh + next, minLen + r.IntN(maxLen-minLen+1)})
			next++
		}
		j := r.IntN(len(open))
		out[i] = zipf.Key(open[j].key)
		if open[j].left--; open[j].left == 0 {
			open[j] = open[len(open)-1]
			open = open[:len(open)-1]
		}
	}
	return out
}

// Bimodal is a stream of n requests in which every key comes back at one
// of two distances, short or long, chosen for good when it first comes
// (a query's follow-ups within a page load, or a report rerun each
// hour): after each request a key asks again with probability again,
// after a gap drawn uniformly from short or long (each [min, max]
// requests), and otherwise never. A request whose time comes when another
// is due waits for the next free one; a time with none due asks a new
// key. Short-gap keys make newcomers look worth keeping, while the
// long-gap keys are what a cache a little smaller than the long gap must
// hold: where the long gap fits, LRU keeps every key seen again.
func Bimodal(n int, short, long [2]int, again float64, seed uint64) []uint64 {
	r := rng(seed)
	out := make([]uint64, n)
	var due dueHeap
	next := fresh
	isLong := map[int]bool{}
	for i := range out {
		var k int
		if len(due) > 0 && due[0].at <= i {
			k = heap.Pop(&due).(dueKey).key
		} else {
			k = next
			next++
			isLong[k] = r.IntN(2) == 0
		}
		out[i] = zipf.Key(k)
		if r.Float64() >= again {
			delete(isLong, k)
			continue
		}
		g := short
		if isLong[k] {
			g = long
		}
		heap.Push(&due, dueKey{at: i + g[0] + r.IntN(g[1]-g[0]+1), key: k})
	}
	return out
}

// dueKey is a key asked again at request at.
type dueKey struct{ at, key int }

// dueHeap orders the keys due by time, then key (a pure function of the
// seed).
type dueHeap []dueKey

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].key < h[j].key
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueKey)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
