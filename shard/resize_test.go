package shard

import "testing"

// A shard grown by Resize fills as at first: its sketch starts afresh at
// the first overflow of the new capacity, as Init's did. (Mutant: Resize
// leaving filled set on a grow survived every test.)
func TestAdvResizeGrownStartsTheSketchAfreshOnItsNextOverflow(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 4096, 4096, 0) // a sketch that never grows
	set := func(k int) { s.Set(k, k, mixHash(k), 1, 0, 0, nil) }
	est := func(k int) uint32 { return s.sketch.Estimate(mixHash(k)) }
	for k := range 150 {
		set(k) // overflowed: filled
	}
	s.Resize(300, 300, 0, 4096, 4096, nil)
	for k := 1000; k < 1150; k++ {
		set(k) // 250 entries: within the new capacity
	}
	if est(1005) != 1 {
		t.Fatalf("while filling the new capacity: key 1005 estimated %d, want 1", est(1005))
	}
	for k := 1150; k < 1300; k++ {
		set(k)
	}
	if est(1005) != 0 {
		t.Errorf("after the grown shard's first overflow: key 1005 estimated %d, want 0 (a fresh sketch)", est(1005))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
