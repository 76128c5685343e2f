package shard

import "testing"

func mixHash(k int) uint64 {
	x := uint64(k)*0x9e3779b97f4a7c15 + 1
	x ^= x >> 31
	return x * 0xbf58476d1ce4e5b9
}

// The sketch forgets what it counted while the shard filled when the shard
// first overflows, and only then (until Clear).
func TestSketchStartsAfreshOnFirstOverflow(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, true, mixHash, 0, 4096, 4096) // a sketch that never grows
	set := func(k int) { s.Set(k, k, mixHash(k), 1, 0, 0, nil) }
	est := func(k int) uint32 { return s.sketch.Estimate(mixHash(k)) }
	for k := range 100 {
		set(k)
	}
	if est(5) != 1 {
		t.Fatalf("while filling: key 5 estimated %d, want 1", est(5))
	}
	set(100) // the first overflow
	if est(5) != 0 || est(100) != 1 {
		t.Fatalf("after the first overflow: key 5 estimated %d (want 0), key 100 %d (want 1)", est(5), est(100))
	}
	for k := 101; k < 300; k++ {
		set(k)
	}
	if est(100) < 1 {
		t.Fatalf("a later overflow reset the sketch: key 100 estimated %d", est(100))
	}
	s.Clear(nil)
	for k := 1000; k < 1100; k++ {
		set(k)
	}
	set(1100)
	if est(1005) != 0 || est(1100) != 1 {
		t.Fatalf("after Clear and a refill: key 1005 estimated %d (want 0), key 1100 %d (want 1)", est(1005), est(1100))
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
