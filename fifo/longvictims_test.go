package fifo

import "testing"

// TestLongVictimListLeavesNoVictimReachable: a duel whose victims
// outgrow the list kept for the next duels fills that list's array
// before append moves them to a larger one; the list is kept (the long
// one is not, TestLongVictimListsAreNotKept), so it must be left cleared,
// or its victims (here entries the heavy newcomer displaced, gone from
// the cache) stay reachable until later duels write over them
// (checkVictimsCleared).
func TestLongVictimListLeavesNoVictimReachable(t *testing.T) {
	p := newS3(3000)
	for k := range 4500 {
		add(p, newEntry(k, 1))
	}
	duel := func(k int, w uint32) []Gone[int, int] {
		t.Helper()
		c := newEntry(k, w)
		for range 5 {
			p.sketch.Add(hash(c.Key)) // rated well above every resident
		}
		p.Add(c, hash(c.Key))
		gone := p.Evict(0, nil, nil) // unprotected: c, over the small share, duels at once
		if !c.InMain() || len(gone) < int(w) {
			t.Fatalf("a newcomer of weight %d: in main %v, %d evicted; want it to displace at least %d", w, c.InMain(), len(gone), w)
		}
		return gone
	}
	duel(100_000, 500)
	if c := cap(p.victims); c < 500 || c > ScratchKept {
		t.Fatalf("after a duel of 500 victims the list kept has room for %d, want 500 to %d", c, ScratchKept)
	}
	duel(100_001, 2000)
	checkVictimsCleared(t, p)
}
