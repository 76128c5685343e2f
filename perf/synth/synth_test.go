package synth

import (
	"math"
	"slices"
	"testing"

	"github.com/ufocache/ufocache/perf/zipf"
)

func set(ks []uint64) map[uint64]bool {
	m := make(map[uint64]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func TestShiftMovesTheChosenRanks(t *testing.T) {
	const n, keys, phase = 40_000, 5_000, 20_000
	// Nothing moves: the first phase's keys go on, one Zipf stream.
	still := Shift(n, keys, 0.9, phase, 0, 1)
	if !slices.Equal(still, Shift(n, keys, 0.9, n, 7, 1)) {
		t.Error("with no rank moving, the stream depends on the phase length")
	}
	// Everything moves: the two phases share no key.
	all := Shift(n, keys, 0.9, phase, 10, 1)
	first := set(all[:phase])
	for _, k := range all[phase:] {
		if first[k] {
			t.Fatalf("every rank moved, but key %#x is in both phases", k)
		}
	}
	// Seven ranks in ten move: rank 0's key changes, rank 7's stays.
	some := Shift(n, keys, 0.9, phase, 7, 1)
	a, b := set(some[:phase]), set(some[phase:])
	if !a[zipf.Key(0)] || b[zipf.Key(0)] || !b[zipf.Key(keys)] {
		t.Error("rank 0 did not move to a fresh key in the second phase")
	}
	if !a[zipf.Key(7)] || !b[zipf.Key(7)] {
		t.Error("rank 7 did not keep its key")
	}
}

func TestFadeSinksEveryKey(t *testing.T) {
	const n, keys, step = 200_000, 10_000, 20
	f := Fade(n, keys, 0.9, step, 7)
	// Each key's requests come after it entered, most of them soon after:
	// the key that entered at request e (at rank 0) holds rank (i-e)/step
	// at request i, so its mean age at a request is well under the time
	// it takes to sink through the ranks.
	first := map[uint64]int{}
	age, asked := 0, 0
	for e := 0; e < n; e += step {
		first[zipf.Key(fresh+keys+e/step)] = e
	}
	for i, k := range f {
		e, ok := first[k]
		if !ok {
			continue // a key that entered before the stream began
		}
		if i < e {
			t.Fatalf("key %#x asked at %d, before it entered at %d", k, i, e)
		}
		if rank := (i - e) / step; rank >= keys {
			t.Fatalf("key %#x asked at rank %d, past the last", k, rank)
		}
		age += i - e
		asked++
	}
	if asked < n/2 {
		t.Fatalf("%d of %d requests went to keys that entered during the stream", asked, n)
	}
	// Zipf 0.9 over 10k ranks: about 40% of requests go to the top 100,
	// entered at most 2,000 requests before.
	if mean := age / asked; mean > keys*step/4 {
		t.Errorf("mean age at a request %d, want well under %d", mean, keys*step)
	}
	// The hottest key of the first tenth is not among the last tenth's.
	count := func(ks []uint64) map[uint64]int {
		c := map[uint64]int{}
		for _, k := range ks {
			c[k]++
		}
		return c
	}
	early, late := count(f[:n/10]), count(f[9*n/10:])
	hot, most := uint64(0), 0
	for k, c := range early {
		if c > most {
			hot, most = k, c
		}
	}
	if late[hot] > most/20 {
		t.Errorf("the first tenth's hottest key (%d requests) is asked %d times in the last tenth", most, late[hot])
	}
}

func TestScanMixInsertsFreshScans(t *testing.T) {
	const n, keys, every, scan = 10_000, 1_000, 2_500, 300
	s := ScanMix(n, keys, 1.0, every, scan, 2)
	if want := n + (n-1)/every*scan; len(s) != want {
		t.Fatalf("%d requests, want %d", len(s), want)
	}
	count := map[uint64]int{}
	for _, k := range s {
		count[k]++
	}
	scanned := 0
	for i := range 3 {
		start := every*(i+1) + scan*i // the Zipf requests and scans before
		for _, k := range s[start : start+scan] {
			if count[k] != 1 {
				t.Fatalf("scan %d: key %#x asked %d times, want once", i, k, count[k])
			}
			scanned++
		}
	}
	if scanned != 3*scan {
		t.Fatalf("%d scanned keys, want %d", scanned, 3*scan)
	}
}

func TestLoopMixCyclesTheLoop(t *testing.T) {
	const n, loop = 20_000, 777
	s := LoopMix(n, 1_000, 0.8, loop, 3)
	var loops []uint64
	for _, k := range s {
		for i := range loop {
			if k == zipf.Key(looped+i) {
				loops = append(loops, k)
				break
			}
		}
	}
	if math.Abs(float64(len(loops))/n-0.5) > 0.02 {
		t.Errorf("loop share %.3f, want about 0.5", float64(len(loops))/n)
	}
	for i, k := range loops {
		if k != zipf.Key(looped+i%loop) {
			t.Fatalf("loop request %d is key %#x, want the loop's key %d", i, k, i%loop)
		}
	}
}

// stackDepths returns, for each request that reuses a key, its LRU stack
// depth (0: the most recent key), and the number of first requests.
func stackDepths(s []uint64) (depths []int, firsts int) {
	var stack []uint64 // the most recent last
	for _, k := range s {
		j := slices.Index(stack, k)
		if j < 0 {
			firsts++
			stack = append(stack, k)
			continue
		}
		depths = append(depths, len(stack)-1-j)
		stack = append(slices.Delete(stack, j, j+1), k)
	}
	return depths, firsts
}

func TestRecencyFollowsTheStackModel(t *testing.T) {
	const n, reuse, depth, limit = 60_000, 0.8, 50.0, 2_000
	s := Recency(n, reuse, depth, limit, 4)
	depths, firsts := stackDepths(s)
	if share := float64(firsts) / n; math.Abs(share-(1-reuse)) > 0.01 {
		t.Errorf("first requests %.3f of all, want %.3f", share, 1-reuse)
	}
	mean := 0.0
	for _, d := range depths {
		mean += float64(d)
	}
	mean /= float64(len(depths))
	// An exponential's floor has mean depth - 1/2 or so.
	if math.Abs(mean-(depth-0.5)) > 2 {
		t.Errorf("mean reuse depth %.1f, want about %.1f", mean, depth-0.5)
	}
	if m := slices.Max(depths); m >= limit {
		t.Errorf("a key reused at depth %d, beyond the stack's %d", m, limit)
	}
}

func TestRecencyForgetsBeyondTheLimit(t *testing.T) {
	// Always deep: every reuse is of the oldest key the stack keeps.
	s := Recency(20_000, 0.5, 1e9, 100, 5)
	depths, _ := stackDepths(s)
	if m := slices.Max(depths); m != 99 {
		t.Errorf("deepest reuse %d, want the limit's last place, 99", m)
	}
}

func TestTenantsSwingTheirShares(t *testing.T) {
	const n, period = 40_000, 10_000
	s := Tenants(n, 1_000, 1.0, 500, 1.1, 0.1, 0.7, period, 6)
	b := set(nil)
	for r := range 500 {
		b[zipf.Key(second+r)] = true
	}
	for p := range n / period {
		inB := 0
		for _, k := range s[p*period : (p+1)*period] {
			if b[k] {
				inB++
			}
		}
		want := 0.1
		if p%2 == 1 {
			want = 0.7
		}
		if got := float64(inB) / period; math.Abs(got-want) > 0.02 {
			t.Errorf("period %d: tenant b has %.3f of the requests, want %.2f", p, got, want)
		}
	}
}

func TestStreamsDependOnlyOnTheirSeed(t *testing.T) {
	gens := map[string]func(uint64) []uint64{
		"shift":    func(s uint64) []uint64 { return Shift(5_000, 1_000, 0.9, 1_000, 7, s) },
		"scan":     func(s uint64) []uint64 { return ScanMix(5_000, 1_000, 1.0, 1_000, 100, s) },
		"loop":     func(s uint64) []uint64 { return LoopMix(5_000, 1_000, 0.8, 300, s) },
		"recency":  func(s uint64) []uint64 { return Recency(5_000, 0.8, 100, 1_000, s) },
		"tenants":  func(s uint64) []uint64 { return Tenants(5_000, 1_000, 1.0, 300, 1.1, 0.1, 0.7, 1_000, s) },
		"sessions": func(s uint64) []uint64 { return Sessions(5_000, 100, 5, 45, s) },
		"fade":     func(s uint64) []uint64 { return Fade(5_000, 1_000, 0.9, 20, s) },
	}
	for name, g := range gens {
		if !slices.Equal(g(1), g(1)) {
			t.Errorf("%s: two streams of seed 1 differ", name)
		}
		if slices.Equal(g(1), g(2)) {
			t.Errorf("%s: seeds 1 and 2 give the same stream", name)
		}
	}
}

// Every session asks between minLen and maxLen requests (those still open
// at the end, at most that many), and no more than live are open at once:
// the sessions between their first request and their last number at most
// live, and nearly that at some request (a session just opened may not
// have asked yet); each request picks an open session uniformly, so a
// session's requests come about live requests apart.
func TestSessionsOpenAskAndEnd(t *testing.T) {
	const n, live, minLen, maxLen = 100_000, 300, 5, 45
	s := Sessions(n, live, minLen, maxLen, 7)
	count, last := map[uint64]int{}, map[uint64]int{}
	for i, k := range s {
		count[k]++
		last[k] = i
	}
	openAtEnd := 0
	for _, c := range count {
		switch {
		case c > maxLen:
			t.Fatalf("a session asked %d requests, want at most %d", c, maxLen)
		case c < minLen:
			openAtEnd++ // can only be one still open
		}
	}
	if openAtEnd > live {
		t.Errorf("%d sessions asked fewer than %d requests, want at most the %d open at the end", openAtEnd, minLen, live)
	}
	first := map[uint64]int{}
	for i, k := range s {
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	// Sessions between their first request and their last, at each request.
	delta := make([]int, n+1)
	for k, f := range first {
		delta[f]++
		delta[last[k]+1]--
	}
	most, open := 0, 0
	for _, d := range delta {
		open += d
		most = max(most, open)
	}
	if most > live || most < live-10 {
		t.Errorf("at most %d sessions open at once, want %d or a few less", most, live)
	}
	gaps, sum, prev := 0, 0, map[uint64]int{}
	for i, k := range s {
		if p, ok := prev[k]; ok {
			gaps++
			sum += i - p
		}
		prev[k] = i
	}
	if mean := float64(sum) / float64(gaps); math.Abs(mean-live) > live/20 {
		t.Errorf("a session's requests come %.0f requests apart on average, want about %d", mean, live)
	}
	if got, want := float64(len(count)), float64(n)/float64(minLen+maxLen)*2; math.Abs(got-want) > want/10 {
		t.Errorf("%v sessions, want about %v (one per mean length of requests)", got, want)
	}
}

func TestBimodalReusesAtTwoDistances(t *testing.T) {
	const n = 200_000
	short, long := [2]int{1, 100}, [2]int{3000, 4500}
	b := Bimodal(n, short, long, 0.8, 3)
	last := map[uint64]int{}
	class := map[uint64]int{} // 1 short, 2 long
	asked := map[uint64]int{}
	late := 0 // gaps past their range: requests that waited for a free time
	for i, k := range b {
		asked[k]++
		p, seen := last[k]
		last[k] = i
		if !seen {
			continue
		}
		gap := i - p
		c := 0
		switch {
		case gap >= short[0] && gap <= long[0]/2:
			c = 1
			if gap > short[1] {
				late++
			}
		case gap >= long[0]:
			c = 2
			if gap > long[1] {
				late++
			}
		default:
			t.Fatalf("key %#x back after %d requests: in neither range", k, gap)
		}
		if class[k] != 0 && class[k] != c {
			t.Fatalf("key %#x came back at both distances", k)
		}
		class[k] = c
	}
	var shorts, longs int
	for _, c := range class {
		if c == 1 {
			shorts++
		} else {
			longs++
		}
	}
	// Half the keys seen again are of each kind; a key is asked 1/(1-0.8)
	// = 5 times on average (fewer for keys cut off by the stream's end).
	if shorts < longs*8/10 || longs < shorts*8/10 {
		t.Errorf("%d keys came back at the short distance, %d at the long one: want about as many", shorts, longs)
	}
	if mean := float64(n) / float64(len(asked)); mean < 4 || mean > 5.5 {
		t.Errorf("%.2f requests per key, want about 5", mean)
	}
	if late > n/100 {
		t.Errorf("%d gaps past their range (requests that waited), want under 1%%", late)
	}
	if !slices.Equal(b, Bimodal(n, short, long, 0.8, 3)) {
		t.Error("the stream is not a pure function of its parameters")
	}
}
