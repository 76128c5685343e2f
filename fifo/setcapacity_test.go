package fifo

import "testing"

// SetCapacity keeps the policy's fields fit for the new capacity: the
// small queue's least share follows it, blind admission admits at most
// blindTimes the new capacity more, and a larger capacity is filled as
// the first was (its next overflow sets the small share again).
// (Mutants, each surviving the package's and the cache's tests: least
// left at the old capacity's, blind left unclamped, filled left set.)
func TestAdvSetCapacityFollowsTheNewCapacity(t *testing.T) {
	for _, unit := range []bool{true, false} {
		p := newBlindS3(1000)
		p.Init(1000, unit, p.sketch, hash)
		for k := range 1200 {
			add(p, newEntry(k, 1))
		}
		if !p.filled || p.blind <= 100*blindTimes {
			t.Fatalf("setup: filled %v, blind %d", p.filled, p.blind)
		}
		p.SetCapacity(100, unit)
		if want := leastShare(100, unit); p.least != want {
			t.Errorf("unit %v: least %d after SetCapacity(100), want %d", unit, p.least, want)
		}
		if p.blind > 100*blindTimes {
			t.Errorf("unit %v: blind %d after SetCapacity(100), above %d", unit, p.blind, 100*blindTimes)
		}
		if p.smallCap < p.least || p.smallCap > max(Share(100, MaxSmallPercent, 100), 1) {
			t.Errorf("unit %v: smallCap %d out of [%d, %d%%] of 100", unit, p.smallCap, p.least, MaxSmallPercent)
		}
		p.Evict(0, nil, nil)
		if !p.filled {
			t.Errorf("unit %v: a shrunk policy is no longer filled", unit)
		}
		p.SetCapacity(5000, unit)
		if p.filled {
			t.Errorf("unit %v: grown to 5000, the policy still counts as filled", unit)
		}
		if want := leastShare(5000, unit); p.least != want {
			t.Errorf("unit %v: least %d after SetCapacity(5000), want %d", unit, p.least, want)
		}
	}
}
