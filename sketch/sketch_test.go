package sketch

import (
	"math/rand/v2"
	"testing"
)

func TestNeverUnderestimatesBeforeAging(t *testing.T) {
	s := New(1024)
	r := rand.New(rand.NewPCG(1, 2))
	truth := map[uint64]uint32{}
	// Stay below the first halving.
	for range s.firstHalving() - 1 {
		h := r.Uint64() % 300
		h = h*0x9e3779b97f4a7c15 + 1
		s.Add(h)
		truth[h]++
	}
	for h, n := range truth {
		if got := s.Estimate(h); got < min(n, 15) {
			t.Fatalf("Estimate = %d, true count %d", got, n)
		}
	}
}

func TestSaturatesAt15(t *testing.T) {
	s := New(64)
	for range 100 {
		s.Add(42)
	}
	if got := s.Estimate(42); got != 15 {
		t.Fatalf("Estimate after 100 adds = %d, want 15", got)
	}
	for _, w := range s.table {
		for sh := 0; sh < 64; sh += 4 {
			if (w>>sh)&15 > 15 {
				t.Fatal("a counter overflowed into its neighbour")
			}
		}
	}
}

func TestAgingHalvesOldCounts(t *testing.T) {
	s := New(256)
	for range 15 {
		s.Add(7)
	}
	if s.Estimate(7) != 15 {
		t.Fatal("setup")
	}
	// Feed another key whose block differs, so that only the halving
	// touches key 7's counters: one full sweep takes every adds.
	other := uint64(8)
	for b7, _ := s.spread(7); ; other++ {
		if b, _ := s.spread(other); b != b7 {
			break
		}
	}
	for range int(s.every) {
		s.Add(other)
	}
	if got := s.Estimate(7); got != 7 {
		t.Fatalf("after a full aging sweep the count is %d, want 15/2 = 7", got)
	}
}

func TestDistinguishesHotFromCold(t *testing.T) {
	s := New(4096)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 20000 {
		if i%4 == 0 {
			s.Add(uint64(i/4%10) * 0x9e3779b97f4a7c15) // 10 hot keys
		} else {
			s.Add(r.Uint64())
		}
	}
	cold := 0
	for range 1000 {
		if s.Estimate(r.Uint64()) >= 8 {
			cold++
		}
	}
	for i := range 10 {
		if s.Estimate(uint64(i)*0x9e3779b97f4a7c15) < 8 {
			t.Fatalf("hot key %d estimated %d", i, s.Estimate(uint64(i)*0x9e3779b97f4a7c15))
		}
	}
	if cold > 10 {
		t.Fatalf("%d of 1000 unseen keys look hot", cold)
	}
}

func TestSizeStaysSmall(t *testing.T) {
	for _, n := range []int{1, 100, 1000, 1 << 20} {
		s := New(n)
		// Half a word per key, doubled at most by rounding to a power of two.
		if bytes := len(s.table) * 8; bytes > max(8*n, 8*blockWords) {
			t.Errorf("n=%d: %d bytes", n, bytes)
		}
		if s.Capacity() < n {
			t.Errorf("n=%d: capacity %d", n, s.Capacity())
		}
	}
}

func FuzzSketch(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1, 1, 2}, uint16(16))
	f.Fuzz(func(t *testing.T, keys []byte, n uint16) {
		s := New(int(n))
		truth := map[uint64]uint32{}
		for i, k := range keys {
			h := uint64(k) * 0xff51afd7ed558ccd
			s.Add(h)
			truth[h]++
			if i+1 < s.firstHalving() { // no halving yet
				if got := s.Estimate(h); got < min(truth[h], 15) {
					t.Fatalf("Estimate = %d < true %d", got, truth[h])
				}
			}
			if got := s.Estimate(h); got > 15 {
				t.Fatalf("Estimate %d above 15", got)
			}
		}
	})
}

// The table holds room for least keys however small n is, and a key's
// estimate grows by exactly one per Add (conservative update) until it
// saturates, even when its counters are shared with a hotter key.
func TestLeastAndConservative(t *testing.T) {
	s := &Sketch{}
	s.Resize(8, 4096)
	if s.Capacity() < 4096 {
		t.Fatalf("capacity %d, want at least 4096", s.Capacity())
	}
	if s.firstHalving() != 1 || int(s.every) != len(s.table) {
		t.Fatalf("a full sweep every %d increments, the first halving after %d; want a halving per increment (10*n is shorter than the table)", s.every, s.firstHalving())
	}
	s = New(1 << 16)
	for k := range uint64(12) {
		h := k * 0x9e3779b97f4a7c15
		before := s.Estimate(h)
		s.Add(h)
		if got := s.Estimate(h); got != min(before+1, 15) {
			t.Fatalf("key %d: estimate %d after one Add, was %d", k, got, before)
		}
	}
}

// Keys seen equally often read as equal rates, whichever of them had its
// block halved last; their raw estimates differ by up to twice.
func TestRateCorrectsThePhase(t *testing.T) {
	s := New(4096)
	keys := make([]uint64, 8192)
	for i := range keys {
		keys[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 40 { // 40 rounds of every key once: 16 halvings of each word
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for _, h := range keys {
			s.Add(h)
		}
	}
	// The keys whose blocks were halved last (first quarter of the
	// period behind the cursor) against those next in line (last quarter).
	n := len(s.table)
	var est, rate [2]float64
	var count [2]int
	for _, h := range keys {
		block, _ := s.spread(h)
		d := (int(s.cursor) - block - blockWords/2 - 1 + 2*n) % n
		g := -1
		switch {
		case d < n/4:
			g = 0
		case d >= 3*n/4:
			g = 1
		}
		if g >= 0 {
			est[g] += float64(s.Estimate(h))
			rate[g] += float64(s.Rate(h)) / RateOne
			count[g]++
		}
	}
	e0, e1 := est[0]/float64(count[0]), est[1]/float64(count[1])
	r0, r1 := rate[0]/float64(count[0]), rate[1]/float64(count[1])
	t.Logf("estimates %.2f (just halved) vs %.2f (next in line); rates %.2f vs %.2f", e0, e1, r0, r1)
	if e1 < 1.4*e0 {
		t.Fatalf("estimates %.2f vs %.2f: the phase bias this test needs is not there", e0, e1)
	}
	if r1 < 0.85*r0 || r1 > 1.15*r0 {
		t.Errorf("rates %.2f (just halved) vs %.2f (next in line), want within 15%%", r0, r1)
	}
}

// A table of one block is halved all at once, near enough: no phase.
func TestRateOfOneBlockIsTheEstimate(t *testing.T) {
	s := New(1)
	for i := range 100 {
		s.Add(uint64(i % 7))
		for h := range uint64(7) {
			if got, want := s.Rate(h), s.Estimate(h)*RateOne; got != want {
				t.Fatalf("Rate(%d) = %d, want %d", h, got, want)
			}
		}
	}
}

// The table is halved once per 10*n increments even when least makes it
// larger than n (a whole word count between two halvings, rounded down,
// aged a one-shard cache of 409 entries every 2048 increments, not 4090).
func TestAgingFollowsNWithLeast(t *testing.T) {
	for _, n := range []int{409, 1000, 3000, 5000} {
		s := &Sketch{}
		s.Resize(n, 4096)
		want := max(10*n, len(s.table))
		adds, halved := 0, 0
		for h := uint64(1); halved < len(s.table); h++ {
			cursor := s.cursor
			s.Add(h * 0x9e3779b97f4a7c15)
			adds++
			if s.cursor != cursor {
				halved++
			}
		}
		if adds != want {
			t.Errorf("n=%d, table of %d words: a full sweep took %d increments, want %d", n, len(s.table), adds, want)
		}
	}
}

// firstHalving returns how many increments come before the first halving.
func (s *Sketch) firstHalving() int {
	w := len(s.table)
	return (int(s.every) + w - 1) / w
}

// The phase correction is monotonic in the cursor: with the same estimate,
// a key whose block's middle word is next in line to be halved (it holds a
// full period's counts on top of its halved history) rates lowest, and one
// whose middle word was just halved rates highest (its estimate is only the
// halved history). The distance wrapped one word early: the key next in
// line read as uncorrected, the highest rate of all.
func TestRateNextInLineIsCorrectedMost(t *testing.T) {
	s := New(64) // 32 words, 4 blocks
	n := len(s.table)
	var h uint64
	for h = 1; ; h++ {
		if block, _ := s.spread(h); block == blockWords { // the second block
			break
		}
	}
	mid := blockWords + blockWords/2
	rates := make([]uint32, n)
	for c := range n {
		s.cursor = uint32(c)
		rates[c] = s.RateAt(h, 8)
	}
	next, justHalved := rates[mid], rates[(mid+1)%n]
	t.Logf("rate of an estimate of 8: %d with its middle word next in line, %d just after it was halved", next, justHalved)
	if next >= justHalved {
		t.Errorf("next in line rates %d, just halved %d: want the next in line lowest", next, justHalved)
	}
	for c := range n {
		if rates[c] < next || rates[c] > justHalved {
			t.Errorf("cursor %d: rate %d outside [%d, %d]", c, rates[c], next, justHalved)
		}
	}
	if want := uint32(8 * RateOne); justHalved != want {
		t.Errorf("just halved: rate %d, want the estimate uncorrected, %d", justHalved, want)
	}
}

// Grow doubles the table and keeps every key's estimate.
func TestGrowKeepsEstimates(t *testing.T) {
	for _, n := range []int{1, 16, 1000} {
		s := New(n)
		r := rand.New(rand.NewPCG(7, uint64(n)))
		keys := make([]uint64, 3*s.Capacity())
		for i := range keys {
			keys[i] = r.Uint64()
		}
		for range 5 * len(keys) {
			s.Add(keys[r.IntN(len(keys))])
		}
		before := make([]uint32, len(keys))
		for i, h := range keys {
			before[i] = s.Estimate(h)
		}
		c := s.Capacity()
		s.Grow()
		if s.Capacity() != 2*c || s.every != uint32(10*s.Capacity()) || int(s.cursor) >= len(s.table) {
			t.Fatalf("n=%d: grew from %d to %d keys, every %d, cursor %d of %d", n, c, s.Capacity(), s.every, s.cursor, len(s.table))
		}
		for i, h := range keys {
			if got := s.Estimate(h); got != before[i] {
				t.Fatalf("n=%d: key %d estimated %d after Grow, %d before", n, i, got, before[i])
			}
		}
	}
}
