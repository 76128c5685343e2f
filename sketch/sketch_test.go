package sketch

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestNeverUnderestimatesBeforeAging(t *testing.T) {
	s := New(1024)
	r := rand.New(rand.NewPCG(1, 2))
	truth := map[uint64]uint32{}
	// Stay below the first halving, with few enough keys that each is
	// counted several times.
	for range s.firstHalving() - 1 {
		h := r.Uint64() % 5
		h = h*0x9e3779b97f4a7c15 + 1
		s.Add(h)
		truth[h]++
	}
	most := uint32(0)
	for _, n := range truth {
		most = max(most, n)
	}
	if most < 3 {
		t.Fatalf("%d adds before the first halving counted no key 3 times", s.firstHalving()-1)
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
	// Saturated counters stay at 15: none carried into a neighbour. Key
	// 42's four counters hold 15, every other one 0 (only 42 was added).
	block, idx := s.spread(42)
	own := map[[2]int]bool{}
	for i := range 4 {
		w, sh := counter(block, idx, i)
		own[[2]int{w, int(sh)}] = true
	}
	for w, word := range s.table {
		for sh := 0; sh < 64; sh += 4 {
			got, want := (word>>sh)&15, uint64(0)
			if own[[2]int{w, sh}] {
				want = 15
			}
			if got != want {
				t.Fatalf("word %d nibble %d holds %d, want %d", w, sh/4, got, want)
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
	// Room for the next power of two keys (1<<10+1 needs 1<<11; 1<<10 no
	// more than itself), at least one block's: half a word per key, so
	// rounding up at most doubles the bytes.
	for _, n := range []int{1, 100, 1000, 1 << 10, 1<<10 + 1, 1 << 20} {
		s := New(n)
		want := max(1<<bits.Len(uint(n-1)), 2*blockWords)
		if s.Capacity() != want {
			t.Errorf("n=%d: capacity %d, want %d", n, s.Capacity(), want)
		}
		if bytes := len(s.table) * 8; bytes > max(8*n, 8*blockWords) || bytes != 4*want {
			t.Errorf("n=%d: %d bytes", n, bytes)
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
			before := s.Estimate(h)
			s.Add(h)
			truth[h]++
			if i+1 < s.firstHalving() { // no halving yet
				got := s.Estimate(h)
				if got < min(truth[h], 15) {
					t.Fatalf("Estimate = %d < true %d", got, truth[h])
				}
				// Conservative update: exactly one more, until saturated
				// (a saturated counter that wrapped would read 0).
				if got != min(before+1, 15) {
					t.Fatalf("Estimate went from %d to %d on one Add", before, got)
				}
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

// sweep adds distinct keys until every word of the table was halved once,
// and returns how many it took.
func sweep(s *Sketch) int {
	adds, halved := 0, 0
	for h := uint64(1); halved < len(s.table); h++ {
		cursor := s.cursor
		s.Add(h * 0x9e3779b97f4a7c15)
		adds++
		if s.cursor != cursor {
			halved++
		}
	}
	return adds
}

// The table is halved once per 10*n increments even when least makes it
// larger than n (a whole word count between two halvings, rounded down,
// aged a one-shard cache of 409 entries every 2048 increments, not 4090).
// A sketch for fewer than one key is one for one key: its 8 words are
// halved once per 10 increments. A sweep halves each word once and ends
// with the cursor back on word 0.
func TestAgingFollowsNWithLeast(t *testing.T) {
	for _, c := range []struct{ n, least int }{{409, 4096}, {1000, 4096}, {3000, 4096}, {5000, 4096}, {1, 0}, {0, 0}} {
		n := c.n
		s := &Sketch{}
		s.Resize(n, c.least)
		want := max(10*max(n, 1), len(s.table))
		adds := sweep(s)
		if adds != want || s.cursor != 0 {
			t.Errorf("n=%d, table of %d words: a full sweep took %d increments (want %d) and left the cursor on word %d", n, len(s.table), adds, want, s.cursor)
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
// line read as uncorrected, the highest rate of all. Two blocks have a
// phase as four do (only one block has none).
func TestRateNextInLineIsCorrectedMost(t *testing.T) {
	for _, keys := range []int{32, 64} { // 16 words, 2 blocks; 32 words, 4 blocks
		s := New(keys)
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
		t.Logf("%d words: rate of an estimate of 8: %d with its middle word next in line, %d just after it was halved", n, next, justHalved)
		if next >= justHalved {
			t.Errorf("%d words: next in line rates %d, just halved %d: want the next in line lowest", n, next, justHalved)
		}
		for c := range n {
			if rates[c] < next || rates[c] > justHalved {
				t.Errorf("%d words, cursor %d: rate %d outside [%d, %d]", n, c, rates[c], next, justHalved)
			}
		}
		if want := uint32(8 * RateOne); justHalved != want {
			t.Errorf("%d words, just halved: rate %d, want the estimate uncorrected, %d", n, justHalved, want)
		}
	}
}

// Grow doubles the table and keeps every key's estimate, before its copy
// is done (read from the old table) and after.
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
		s.Grow(s.Capacity() * 2)
		if s.Capacity() != 2*c || s.every != uint32(10*s.Capacity()) || int(s.cursor) >= len(s.table) {
			t.Fatalf("n=%d: grew from %d to %d keys, every %d, cursor %d of %d", n, c, s.Capacity(), s.every, s.cursor, len(s.table))
		}
		for i, h := range keys {
			if got := s.Estimate(h); got != before[i] {
				t.Fatalf("n=%d: key %d estimated %d after Grow, %d before", n, i, got, before[i])
			}
		}
		// Until the copy is done the old table answers: the copied one
		// must answer the same.
		s.finishGrow()
		if s.grow != nil {
			t.Fatalf("n=%d: finishGrow left the Grow under way", n)
		}
		for i, h := range keys {
			if got := s.Estimate(h); got != before[i] {
				t.Fatalf("n=%d: key %d estimated %d once the Grow's copy was done, %d before", n, i, got, before[i])
			}
		}
	}
}

// Resize and Reset clear a sketch that was in use, its aging included: it
// then counts and ages exactly as a new sketch of that size.
func TestResizeAndResetStartAfresh(t *testing.T) {
	for _, reset := range []bool{false, true} {
		s := New(1000)
		for h := range uint64(3000) { // 153 words halved, part way to the next
			s.Add(h * 0x9e3779b97f4a7c15)
		}
		ref := New(64)
		if reset {
			s.Reset()
			ref = New(1000)
		} else {
			s.Resize(64, 0)
		}
		for h := range uint64(2000) {
			h = h*0xff51afd7ed558ccd + 1
			s.Add(h)
			ref.Add(h)
			if s.cursor != ref.cursor || s.Estimate(h) != ref.Estimate(h) {
				t.Fatalf("reset %v, add %#x: cursor %d, estimate %d; a new sketch: cursor %d, estimate %d",
					reset, h, s.cursor, s.Estimate(h), ref.cursor, ref.Estimate(h))
			}
		}
	}
}

// Restore undoes Grows, finished or under way: the sketch is then as a
// new one of the size it was taken at, aging included, in the table given
// if that has the size (else one of its own, also when given one of
// another size); with no Grow since, it
// keeps its counts and its table.
func TestRestoreUndoesGrows(t *testing.T) {
	for _, tc := range []struct {
		grows    int
		finished bool // the last Grow's copy is done
		given    bool // Restore is given z.Table()
		wrong    bool // Restore is given a table of another size
	}{{0, true, false, false}, {1, true, false, false}, {1, false, true, false}, {2, false, false, false}, {2, true, true, false}, {1, true, false, true}} {
		s := New(1000)
		z := s.Size()
		table := &s.table[0]
		for i := range tc.grows {
			s.Grow(2 * s.Capacity())
			adds := uint64(5000)
			if i == tc.grows-1 && !tc.finished {
				adds = 3 // the last Grow is left part way
			}
			for h := range adds {
				s.Add(h * 0x9e3779b97f4a7c15)
			}
		}
		if tc.grows > 0 && (s.grow == nil) != tc.finished || s.Grown(z) != (tc.grows > 0) {
			t.Fatalf("%+v: Grow under way %v, Grown %v", tc, s.grow != nil, s.Grown(z))
		}
		hot := uint64(0xdeadbeefcafef00d)
		s.Add(hot)
		var given []uint64
		if tc.given {
			given = z.Table()
		}
		if tc.wrong {
			given = make([]uint64, 2*len(z.Table()))
		}
		s.Restore(z, given)
		if tc.grows == 0 {
			if &s.table[0] != table || s.Estimate(hot) == 0 {
				t.Fatalf("no Grow: Restore replaced the table (%v) or cleared its counts (estimate %d)", &s.table[0] != table, s.Estimate(hot))
			}
			continue
		}
		if tc.given && &s.table[0] != &given[0] {
			t.Fatalf("%+v: Restore made a table of its own", tc)
		}
		if tc.wrong && &s.table[0] == &given[0] {
			t.Fatalf("%+v: Restore took a table of %d words for a sketch of %d", tc, len(given), len(z.Table()))
		}
		ref := New(1000)
		if s.Capacity() != ref.Capacity() || s.every != ref.every || s.grow != nil || s.Grown(z) {
			t.Fatalf("%+v: restored to room for %d keys, halving every %d, grow %v; want %d, %d, none", tc, s.Capacity(), s.every, s.grow != nil, ref.Capacity(), ref.every)
		}
		for h := range uint64(3000) {
			h = h*0xff51afd7ed558ccd + 1
			s.Add(h)
			ref.Add(h)
			if s.cursor != ref.cursor || s.Estimate(h) != ref.Estimate(h) || s.Estimate(hot) != ref.Estimate(hot) {
				t.Fatalf("%+v, add %#x: cursor %d, estimates %d and %d; a new sketch: %d, %d and %d",
					tc, h, s.cursor, s.Estimate(h), s.Estimate(hot), ref.cursor, ref.Estimate(h), ref.Estimate(hot))
			}
		}
	}
}

// Grow keeps the sweep where it was: block b becomes blocks 2b and 2b+1,
// and the next word halved is block 2b's copy of the word that was next,
// so a key keeps about the phase it had. The grown table's own period
// starts then: its first sweep takes exactly its every increments,
// whatever part of a period the old table had counted (here all but one
// increment's worth).
func TestGrowKeepsThePhase(t *testing.T) {
	for c := range uint32(32) {
		s := New(64) // 32 words, 4 blocks
		s.cursor = c
		s.count = s.every - uint32(len(s.table))
		s.Grow(s.Capacity() * 2)
		if s.cursor/blockWords != 2*(c/blockWords) || s.cursor%blockWords != c%blockWords {
			t.Fatalf("cursor on word %d (block %d) grew to word %d, want block %d's word %d",
				c, c/blockWords, s.cursor, 2*(c/blockWords), c%blockWords)
		}
		adds := sweep(s)
		if adds != int(s.every) {
			t.Fatalf("cursor %d: the first sweep after Grow took %d increments, want %d", c, adds, s.every)
		}
	}
}

// A key's four counters are one per row, row i's in word 2i or 2i+1 of the
// key's block (one cache line), and over many keys every block, both words
// of a row and each of their 16 nibbles are used.
func TestCountersCoverTheBlock(t *testing.T) {
	for _, n := range []int{16, 32, 64, 1024} {
		s := New(n)
		blocks := len(s.table) / blockWords
		type pos struct{ w, sh uint32 }
		used := map[int]bool{}
		rows := [4]map[pos]bool{}
		for i := range rows {
			rows[i] = map[pos]bool{}
		}
		for k := range uint64(20000) {
			block, idx := s.spread(k*0x9e3779b97f4a7c15 + 1)
			if block%blockWords != 0 || block/blockWords >= blocks {
				t.Fatalf("n=%d: block at word %d of %d", n, block, len(s.table))
			}
			used[block] = true
			for i := range 4 {
				w, sh := counter(block, idx, i)
				if (w-block != 2*i && w-block != 2*i+1) || sh%4 != 0 || sh > 60 {
					t.Fatalf("n=%d: row %d's counter at word %d of its block, shift %d", n, i, w-block, sh)
				}
				rows[i][pos{uint32(w - block), sh}] = true
			}
		}
		if len(used) != blocks {
			t.Errorf("n=%d: keys spread over %d of %d blocks", n, len(used), blocks)
		}
		for i, r := range rows {
			if len(r) != 32 {
				t.Errorf("n=%d: row %d uses %d of its 32 counters", n, i, len(r))
			}
		}
	}
}

// Estimate is the least of the key's four counters, whichever row holds it.
func TestEstimateIsTheLeastOfFourCounters(t *testing.T) {
	s := New(1024)
	h := uint64(0x9e3779b97f4a7c15)
	block, idx := s.spread(h)
	for low := range 4 {
		clear(s.table)
		for i := range 4 {
			w, sh := counter(block, idx, i)
			v := uint64(9)
			if i == low {
				v = 4
			}
			s.table[w] |= v << sh
		}
		if got := s.Estimate(h); got != 4 {
			t.Errorf("row %d holds 4, the others 9: estimate %d", low, got)
		}
	}
}

// Grow(n) ages for n keys, whatever room the sketch now has: a weighted
// shard keeps room for more keys than it holds entries, and ages for the
// entries.
func TestGrowAgesForTheKeysGiven(t *testing.T) {
	s := New(1000)
	c := s.Capacity()
	s.Grow(c)
	if s.Capacity() != 2*c || s.every != uint32(10*c) {
		t.Fatalf("Grow(%d): room for %d keys, halving every %d increments; want %d and %d", c, s.Capacity(), s.every, 2*c, 10*c)
	}
	if adds := sweep(s); adds != 10*c {
		t.Fatalf("a full sweep after Grow(%d) took %d increments, want %d", c, adds, 10*c)
	}
}

// The period is 10*n increments up to the 32-bit cap, for a million keys
// too, and a Grow's is never shorter than a word per increment of the new
// table: one sized by its least room halves one word per increment
// before and after it doubles.
func TestAgingPeriodOfLargeAndRoomySketches(t *testing.T) {
	const n = 1 << 20
	s := New(n)
	if s.every != 10*n {
		t.Errorf("New(%d): a full halving every %d increments, want %d", n, s.every, 10*n)
	}
	s = New(n / 2)
	if s.Grow(n); s.every != 10*n {
		t.Errorf("Grow(%d): a full halving every %d increments, want %d", n, s.every, 10*n)
	}
	s = &Sketch{}
	s.Resize(16, 4096)
	if s.every != uint32(len(s.table)) {
		t.Fatalf("Resize(16, 4096): a full halving every %d increments, want one per word (%d)", s.every, len(s.table))
	}
	if s.Grow(16); s.every != uint32(len(s.table)) {
		t.Errorf("Grow(16) of a sketch with room for 4096 keys: a full halving every %d increments, want one per word (%d)", s.every, len(s.table))
	}
}

// logical returns the counts a sketch reads, block by block in its table's
// order, whether a Grow has copied the block yet or not.
func logical(s *Sketch) []uint64 {
	out := make([]uint64, len(s.table))
	for b := 0; b < len(s.table); b += blockWords {
		table, at := s.line(b)
		copy(out[b:b+blockWords], table[at:at+blockWords])
	}
	return out
}

// A Grow copies the table over the Adds that follow, yet the sketch reads
// at every step the counts of one copied whole at Grow (the reference
// below), through Adds of copied and uncopied blocks, halvings, a Grow
// while one is under way, and Reset and Resize during one.
func TestGrowSpreadReadsAsAWholeCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for round := range 8 {
		s := New(1 + r.IntN(2000)) // from one block up
		ref := *s
		ref.table = slices.Clone(s.table)
		keys := make([]uint64, 4*s.Capacity())
		for i := range keys {
			keys[i] = r.Uint64()
		}
		clearAt, clearHow := -1, 0
		for i := range 20 * s.Capacity() {
			switch x := r.IntN(4000); {
			case x < 3 && s.Capacity() < 1<<15:
				for range 1 + r.IntN(2) { // one in two, a Grow during a Grow
					n := s.Capacity() * (1 + r.IntN(2))
					s.Grow(n)
					ref.Grow(n)
					ref.finishGrow()
				}
				if s.grow == nil {
					t.Fatalf("round %d: Grow copied the whole table at once", round)
				}
				// Half the Grows are cut short by a Reset or a Resize.
				clearAt, clearHow = i+1+r.IntN(max(1, len(s.grow.old)/blockWords/growBlocks)), r.IntN(4)
			case i == clearAt && clearHow == 0:
				s.Reset()
				ref.Reset()
			case i == clearAt && clearHow == 1:
				n := 1 + r.IntN(4000)
				s.Resize(n, 0)
				ref.Resize(n, 0)
			default:
				h := keys[r.IntN(len(keys))]
				if got, want := s.Estimate(h), ref.Estimate(h); got != want {
					t.Fatalf("round %d, step %d: estimate %d, a whole copy's %d", round, i, got, want)
				}
				s.Add(h)
				ref.Add(h)
			}
			if s.cursor != ref.cursor || s.count != ref.count || len(s.table) != len(ref.table) {
				t.Fatalf("round %d, step %d: cursor %d count %d of %d words, a whole copy's %d %d of %d",
					round, i, s.cursor, s.count, len(s.table), ref.cursor, ref.count, len(ref.table))
			}
			if i%256 == 0 || s.grow != nil && s.grow.next < 4 {
				if !slices.Equal(logical(s), ref.table) {
					t.Fatalf("round %d, step %d: the counts read differ from a whole copy's (grow under way: %v)", round, i, s.grow != nil)
				}
			}
		}
	}
}

// An Add during a Grow copies at most growBlocks old blocks besides its
// own key's and the one it halves, and the Grow ends, dropping the old
// table, after one Add per growBlocks old blocks.
func TestGrowIsSpreadOverAdds(t *testing.T) {
	s := New(1 << 14)
	r := rand.New(rand.NewPCG(13, 14))
	for range 5 << 14 {
		s.Add(r.Uint64())
	}
	blocks := len(s.table) / blockWords
	s.Grow(s.Capacity() * 2)
	adds := 0
	for prev := 0; ; {
		adds++
		s.Add(r.Uint64())
		if s.grow == nil {
			break
		}
		done := 0
		for _, w := range s.grow.copied {
			done += bits.OnesCount64(w)
		}
		if done-prev > growBlocks+2 {
			t.Fatalf("add %d copied %d old blocks", adds, done-prev)
		}
		prev = done
	}
	if want := blocks / growBlocks; adds != want {
		t.Fatalf("the Grow of %d old blocks took %d Adds, want %d", blocks, adds, want)
	}
}

// BenchmarkGrowTail adds b.N keys never seen before to a sketch that
// doubles whenever its keys reach its room, as a unit shard's does
// (run it with -benchtime 8388608x to reach 8M keys, 32 MiB), and reports
// the slowest Add, its Grow included.
func BenchmarkGrowTail(b *testing.B) {
	s := New(1024)
	var worst time.Duration
	for i := range b.N {
		t0 := time.Now()
		s.Add(uint64(i)*0x9e3779b97f4a7c15 + 1)
		if i+1 >= s.Capacity() {
			s.Grow(2 * s.Capacity())
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}
