package shard

import (
	"testing"

	"github.com/ufocache/ufocache/internal/tracetest"
)

// A weighted shard counts its entries as they arrive, and its sketch grows
// with them; with room for one key per entry it conflated the keys the
// shard is offered (on cloudphysics about six times the entries a shard of
// 8000 holds), as a unit shard's did with its room shared out. With room
// for two, the byte hit ratio of one shard holding about 8000 of
// cloudphysics's objects must gain at least 0.5 pp.
func TestWeightedSketchRoom(t *testing.T) {
	reqs := tracetest.Oracle(t, "../testdata/traces/oracle/cloudPhysicsIO.oracleGeneral.bin.gz")
	sizes := map[uint64]uint32{}
	var total, all uint64
	for _, r := range reqs {
		if _, ok := sizes[r.Key]; !ok {
			sizes[r.Key] = r.Size
			total += uint64(r.Size)
		}
		all += uint64(r.Size)
	}
	capacity := int64(8000 * total / uint64(len(sizes)))
	ratio := func() float64 {
		var s Shard[uint64, uint32]
		s.Init(capacity, false, func(k uint64) uint64 { return mixHash(int(k)) }, 0, 1024, 4096, 0)
		var hit uint64
		for _, r := range reqs {
			h := mixHash(int(r.Key))
			if e := s.Find(r.Key, h); e != nil {
				e.Touch()
				hit += uint64(r.Size)
				continue
			}
			s.Set(r.Key, r.Size, h, max(r.Size, 1), 0, 0, nil)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		if n := s.sketch.Capacity(); n < weightedSketchRoom*s.Len() {
			t.Errorf("a sketch for %d keys in a shard of %d entries, want room for %d per entry", n, s.Len(), weightedSketchRoom)
		}
		return float64(hit) / float64(all)
	}
	two := ratio()
	weightedSketchRoom = 1
	defer func() { weightedSketchRoom = 2 }()
	one := ratio()
	t.Logf("cloudphysics, one shard of %d bytes (about 8000 objects): byte hit ratio %.2f%% with room for two keys per entry, %.2f%% for one", capacity, 100*two, 100*one)
	if two < one+0.005 {
		t.Errorf("room for two keys per entry gains %.2f pp, want at least 0.5", 100*(two-one))
	}
}
