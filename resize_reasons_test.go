package ufocache_test

import (
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// TestSetMaxWeightReportsExpiredVictimsAsExpired: the entries a smaller
// bound evicts are reported with EvictCapacity, but for those already
// expired, which eviction drops first where it meets them: OnEvict sees
// them with EvictExpired, and Stats counts them as Expirations, as an
// eviction by a Set does (SetMaxWeight's doc and README said
// EvictCapacity for each).
func TestSetMaxWeightReportsExpiredVictimsAsExpired(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	reasons := map[int]ufocache.EvictReason{}
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 8, Shards: 1, Clock: clk,
		OnEvict: func(k, _ int, r ufocache.EvictReason) { reasons[k] = r }})
	for k := range 4 {
		c.SetWithTTL(k, k, time.Second) // expire first
	}
	for k := 4; k < 8; k++ {
		c.Set(k, k)
	}
	clk.Advance(time.Second)
	if err := c.SetMaxWeight(4); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 4 {
		t.Fatalf("Len %d after SetMaxWeight(4)", c.Len())
	}
	expired, capacity := 0, 0
	for k, r := range reasons {
		switch {
		case r == ufocache.EvictExpired && k < 4:
			expired++
		case r == ufocache.EvictCapacity && k >= 4:
			capacity++
		default:
			t.Errorf("key %d (expired: %v) reported with %v", k, k < 4, r)
		}
	}
	if st := c.Stats(); st.Expirations != uint64(expired) || st.Evictions != uint64(capacity) {
		t.Errorf("Stats count %d expirations, %d evictions; OnEvict heard of %d and %d", st.Expirations, st.Evictions, expired, capacity)
	}
	if expired == 0 {
		t.Error("no expired entry reported as EvictExpired")
	}
}
