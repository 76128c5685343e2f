package fifo

import (
	"testing"

	"github.com/ufocache/ufocache/sketch"
)

// sampledKeys returns n keys from `from` on whose hashes the ghosts track.
func sampledKeys(from, n int) []int {
	var ks []int
	for k := from; len(ks) < n; k++ {
		if sampled(hash(k)) {
			ks = append(ks, k)
		}
	}
	return ks
}

// A ghost hit moves the small share by ghostSample times the returning
// entry's weight (S3.Add): in a weighted cache a key of weight 10 back
// from small's ghost grows the share by 80 units, one back from main's
// shrinks it by as much (no damping, no momentum here: the running shares
// are full and the ghost hits even).
func TestGhostStepIsTheEntrysWeight(t *testing.T) {
	for _, w := range []uint32{1, 10} {
		p := &S3[int, int]{}
		p.Init(10_000, false, sketch.New(1000), hash)
		p.reused()
		ks := sampledKeys(1, 2)
		p.reads, p.admits = readsOne, readsOne // a step in full
		before := p.SmallCap()
		p.smallGhost.add(hash(ks[0]), 100)
		p.Add(newEntry(ks[0], w), hash(ks[0]))
		if got, want := p.SmallCap()-before, int64(w)*ghostSample; got != want {
			t.Errorf("weight %d back from small's ghost: share moved by %d, want +%d", w, got, want)
		}
		before = p.SmallCap()
		p.mainGhost.add(hash(ks[1]), 100)
		p.Add(newEntry(ks[1], w), hash(ks[1]))
		if got, want := before-p.SmallCap(), int64(w)*ghostSample; got != want {
			t.Errorf("weight %d back from main's ghost: share moved by -%d, want -%d", w, got, want)
		}
	}
}

// Main's ghost watches a short window, ghostPercent of the entries' worth
// of main's sampled evictions: a key main evicted a few sampled evictions
// ago shrinks the small share when it comes back; one evicted more than
// the window ago (here 30 sampled evictions against a window of at most
// 12, for 1000 entries) does not. Driven through real duels: each newcomer,
// counted often in the sketch, displaces main's CLOCK victim.
func TestMainGhostForgetsBeyondItsWindow(t *testing.T) {
	p := newS3(1000)
	for k := range 1000 {
		add(p, newEntry(k, 1))
	}
	// sampled main victims, in the order main evicted them
	var victims []int
	k := 100_000
	scanUntil := func(n int) {
		for len(victims) < n {
			if k > 200_000 {
				t.Fatalf("only %d sampled main victims", len(victims))
			}
			inMain := map[*entry]bool{}
			p.main.Each(func(e *entry) { inMain[e] = true })
			h := hash(k)
			for range 6 {
				p.sketch.Add(h) // rated well above the residents
			}
			for _, g := range add(p, newEntry(k, 1)) {
				if inMain[g] && sampled(hash(g.Key)) {
					victims = append(victims, g.Key)
				}
			}
			k++
		}
	}
	limit := p.n * ghostPercent / 100 / ghostSample
	if limit >= 30 {
		t.Fatalf("window %d: the test needs it under 30", limit)
	}

	scanUntil(2)
	recent := victims[0] // one sampled eviction ago
	before := p.SmallCap()
	p.Add(newEntry(recent, 1), hash(recent))
	if p.SmallCap() >= before {
		t.Fatalf("key %d, evicted from main one sampled eviction ago, did not shrink the share (%d -> %d)", recent, before, p.SmallCap())
	}

	scanUntil(32)
	old := victims[1] // 30 sampled evictions ago
	before = p.SmallCap()
	p.Add(newEntry(old, 1), hash(old))
	if p.SmallCap() != before {
		t.Errorf("key %d, evicted from main 30 sampled evictions ago (window %d), moved the share %d -> %d", old, limit, before, p.SmallCap())
	}
	if err := checkS3(p); err != nil {
		t.Fatal(err)
	}
}

// A small queue whose heads are never read grows on a small-ghost hit only
// by the damping's floor, 1/dampFloor of a step, and only while newcomers
// win at least half of growAdmits of their duels; below that, not at all.
func TestDampFloorIsAFractionOfAStep(t *testing.T) {
	ks := sampledKeys(1, 3)
	for i, c := range []struct {
		admits, want int64
	}{{growAdmits / 2, ghostSample / dampFloor}, {growAdmits/2 - 1, 0}, {readsOne, ghostSample}} {
		p := newS3(10_000)
		p.reads, p.admits = 0, c.admits
		if c.admits == readsOne {
			p.reads = readsOne // undamped: a full step
		}
		before := p.SmallCap()
		p.smallGhost.add(hash(ks[i]), 100)
		p.Add(newEntry(ks[i], 1), hash(ks[i]))
		if got := p.SmallCap() - before; got != c.want {
			t.Errorf("admits %d/%d, reads %d: share grew by %d, want %d", c.admits, readsOne, p.reads, got, c.want)
		}
	}
}
