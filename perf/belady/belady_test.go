package belady_test

import (
	"math/rand/v2"
	"testing"

	"github.com/ufocache/ufocache/perf/belady"
)

// keys turns a string of letters into a trace, one request per letter.
func keys(s string) []uint64 {
	out := make([]uint64, len(s))
	for i, c := range s {
		out[i] = uint64(c)
	}
	return out
}

func TestHandChecked(t *testing.T) {
	cases := []struct {
		trace    string
		capacity int
		hits     int
		why      string
	}{
		{"", 3, 0, "empty trace"},
		{"abcabc", 0, 0, "no room"},
		{"aaaa", 1, 3, "one key"},
		{"abcabc", 3, 3, "everything fits"},
		// c's next use is never: bypass it and keep a and b.
		{"abcab", 2, 2, "bypass a one-off"},
		// Without bypass, LRU-like eviction would lose; with capacity 1 the
		// optimum keeps a (next used at 2) and bypasses b (next used at 3).
		{"ababab", 1, 2, "keep the sooner key, bypass the other"},
		// a b c d a b c d with 3 slots: a,b,c stored; d bypassed (next
		// use 7 is farther than c's at 6): then a, b, c hit.
		{"abcdabcd", 3, 3, "loop larger than the cache"},
		// Classic: a b c a d a b with 2 slots. Store a,b; c (next never)
		// bypassed; a hits; d (never) bypassed; a hits; b hits.
		{"abcadab", 2, 3, "bypass both one-offs"},
		// Eviction that pays: a b c b c a with 2 slots. Store a, b; on c
		// (next 4) evict a (next 5): b hits, c hits, a misses.
		{"abcbca", 2, 2, "evict the farthest"},
	}
	for _, c := range cases {
		got := belady.Prepare(keys(c.trace)).Replay(c.capacity)
		if got.Hits != c.hits || got.Requests != len(c.trace) {
			t.Errorf("%q cap %d (%s): %d hits of %d, want %d", c.trace, c.capacity, c.why, got.Hits, got.Requests, c.hits)
		}
	}
}

// bruteForce tries every decision on every miss (bypass, fill a free slot,
// or evict any resident) and returns the most hits.
func bruteForce(tr []uint64, capacity int) int {
	var best func(i int, resident []uint64) int
	best = func(i int, resident []uint64) int {
		if i == len(tr) {
			return 0
		}
		k := tr[i]
		for _, r := range resident {
			if r == k {
				return 1 + best(i+1, resident)
			}
		}
		b := best(i+1, resident) // bypass
		if len(resident) < capacity {
			next := append(append([]uint64(nil), resident...), k)
			b = max(b, best(i+1, next))
		} else {
			for j := range resident {
				next := append([]uint64(nil), resident...)
				next[j] = k
				b = max(b, best(i+1, next))
			}
		}
		return b
	}
	return best(0, nil)
}

// randomTrace returns n requests drawn uniformly from alphabet keys.
func randomTrace(rng *rand.Rand, n, alphabet int) []uint64 {
	tr := make([]uint64, n)
	for i := range tr {
		tr[i] = uint64(rng.IntN(alphabet))
	}
	return tr
}

func TestMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		tr := randomTrace(rng, 1+rng.IntN(11), 1+rng.IntN(5))
		o := belady.Prepare(tr)
		for capacity := 1; capacity <= 3; capacity++ {
			if got, want := o.Replay(capacity).Hits, bruteForce(tr, capacity); got != want {
				t.Fatalf("trace %v cap %d: %d hits, optimum %d", tr, capacity, got, want)
			}
		}
	}
}

func TestOracleIsReusable(t *testing.T) {
	o := belady.Prepare(keys("abcabdabeab"))
	if o.Distinct() != 5 {
		t.Fatalf("distinct = %d", o.Distinct())
	}
	first := o.Replay(2)
	o.Replay(1)
	if again := o.Replay(2); again != first {
		t.Fatalf("replay changed: %+v then %+v", first, again)
	}
}

// naive is the same rule as the oracle with a plain slice for the
// residents and a scan for the farthest next use: it checks the heap at
// capacities and lengths the brute force cannot reach (an index heap
// whose sift-down skipped a last left child held a wrong maximum only
// with an even number of residents, which traces of 11 requests at 3
// slots never showed).
func naive(tr []uint64, capacity int) int {
	nextUse := func(i int) int {
		for j := i + 1; j < len(tr); j++ {
			if tr[j] == tr[i] {
				return j
			}
		}
		return len(tr)
	}
	next := map[uint64]int{} // resident key -> its next use
	hits := 0
	for i, k := range tr {
		if _, ok := next[k]; ok {
			hits++
			next[k] = nextUse(i)
			continue
		}
		n := nextUse(i)
		if n == len(tr) || capacity == 0 {
			continue
		}
		if len(next) < capacity {
			next[k] = n
			continue
		}
		far, farKey := -1, uint64(0)
		for r, u := range next {
			if u > far {
				far, farKey = u, r
			}
		}
		if n < far {
			delete(next, farKey)
			next[k] = n
		}
	}
	return hits
}

func TestMatchesNaiveOnLongerTraces(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		n, alphabet := 50+rng.IntN(300), 2+rng.IntN(40)
		tr := randomTrace(rng, n, alphabet)
		o := belady.Prepare(tr)
		for capacity := 1; capacity <= 12; capacity++ {
			if got, want := o.Replay(capacity).Hits, naive(tr, capacity); got != want {
				t.Fatalf("trace of %d requests over %d keys, cap %d: %d hits, the naive replay %d", n, alphabet, capacity, got, want)
			}
		}
	}
}
