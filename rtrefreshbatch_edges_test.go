package ufocache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A MultiGet's refresh batch (in parts of MaxBatch keys) frees its places
// of MaxRefreshes whatever its BatchLoader does: panic, return past
// LoadTimeout, return the wrong length; a write during the refresh wins
// over it; a key given twice is refreshed once; nothing is left held.
func TestRTRefreshBatchPlacesAndWrites(t *testing.T) {
	for _, mode := range []string{"ok", "panic", "timeout", "short"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var refreshing atomic.Bool
				gate := make(chan struct{})
				var calls atomic.Int64
				c := Must(Options[int, int]{MaxWeight: 1000})
				rt, err := NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) { return k, time.Minute, nil }, RTOptions[int, int]{
					RefreshAhead: 10 * time.Second, MaxRefreshes: 8, MaxBatch: 2, LoadTimeout: 5 * time.Second,
					BatchLoader: func(_ context.Context, keys []int) ([]Loaded[int], error) {
						calls.Add(1)
						out := make([]Loaded[int], len(keys))
						for i, k := range keys {
							out[i] = Loaded[int]{Value: k + 100, TTL: time.Minute}
						}
						if !refreshing.Load() {
							return out, nil
						}
						<-gate
						switch mode {
						case "panic":
							panic("refresh boom")
						case "timeout":
							time.Sleep(10 * time.Second)
						case "short":
							return out[:1], nil
						}
						return out, nil
					}})
				if err != nil {
					t.Fatal(err)
				}
				keys := []int{0, 1, 2, 3, 4, 0, 1}
				if _, err := rt.MultiGet(context.Background(), keys); err != nil {
					t.Fatal(err)
				}
				time.Sleep(55 * time.Second)
				refreshing.Store(true)
				res, err := rt.MultiGet(context.Background(), keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range res {
					if r.Status != Hit || r.Value != keys[i]+100 {
						t.Errorf("hit %d: %+v", i, r)
					}
				}
				synctest.Wait()
				if n := calls.Load(); n != 3+3 {
					t.Errorf("%d BatchLoader calls, want 3 loads and 3 refresh parts", n)
				}
				if st := rt.Stats(); st.Refreshes != 5 {
					t.Errorf("Refreshes %d, want 5", st.Refreshes)
				}
				rt.Set(2, -2, time.Minute) // while the refresh of 2 is in flight
				close(gate)
				time.Sleep(20 * time.Second)
				synctest.Wait()
				if n := rt.refreshing.Load(); n != 0 {
					t.Errorf("%d places of MaxRefreshes held after every refresh ended", n)
				}
				if rt.InFlight() != 0 {
					t.Errorf("%d keys held", rt.InFlight())
				}
				if v, _ := c.Get(2); v != -2 {
					t.Errorf("key 2 = %d after Set during its refresh, want -2", v)
				}
				if mode == "panic" {
					var pe *PanicError
					if _, _, err := rt.Get(context.Background(), 0); err != nil && !errors.As(err, &pe) {
						t.Errorf("Get(0) after the refresh panicked: %v", err)
					}
				}
			})
		})
	}
}
