package readthrough_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache/perf/readthrough"
)

// Tests a mutation review of the read-through adapters found missing.

// A loaded value is stored: Gets after the load hit, and the origin is
// called once in all.
func TestLoadedValueIsStored(t *testing.T) {
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			var loads atomic.Int64
			c := build(t, name, func(_ context.Context, k uint64) (uint64, time.Duration, error) {
				loads.Add(1)
				return k + 1, 0, nil
			})
			for range 3 {
				if v, err := c.Get(context.Background(), 3); err != nil || v != 4 {
					t.Fatalf("Get(3) = %d, %v", v, err)
				}
			}
			if n := loads.Load(); n != 1 {
				t.Errorf("%d loads for three Gets of one key, want 1", n)
			}
		})
	}
}

// Loads are shared per key, not across keys: while key 7's load is parked,
// a Get of key 9 starts a load of its own and gets 9's value, not 7's.
// (If a cache makes key 9 wait for key 7's load, the test waits for 200ms
// and then still checks the values.)
func TestDifferentKeysDoNotShareALoad(t *testing.T) {
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			started := make(chan uint64, 4)
			release := make(chan struct{})
			c := build(t, name, func(_ context.Context, k uint64) (uint64, time.Duration, error) {
				started <- k
				<-release
				return k + 1, 0, nil
			})
			type result struct{ k, v uint64 }
			results := make(chan result, 2)
			get := func(k uint64) {
				v, err := c.Get(context.Background(), k)
				if err != nil {
					t.Error(err)
				}
				results <- result{k, v}
			}
			go get(7)
			if k := <-started; k != 7 {
				t.Fatalf("load of %d, want 7", k)
			}
			go get(9)
			select {
			case <-started:
			case <-time.After(200 * time.Millisecond):
			}
			close(release)
			for range 2 {
				if r := <-results; r.v != r.k+1 {
					t.Errorf("Get(%d) = %d, want %d", r.k, r.v, r.k+1)
				}
			}
		})
	}
}

// Config.TTL is every entry's TTL when the loader returns none (0): after
// it has passed, a Get loads again. The test waits the TTL, then polls (up
// to 5s) for the entry to have expired.
func TestConfigTTLExpiresEntries(t *testing.T) {
	const ttl = 10 * time.Millisecond
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			var loads atomic.Int64
			c, err := readthrough.New(name, readthrough.Config{Capacity: 100, TTL: ttl},
				func(_ context.Context, k uint64) (uint64, time.Duration, error) {
					loads.Add(1)
					return k, 0, nil
				})
			if err != nil {
				if name == readthrough.Ufocache {
					t.Skip(err) // as build does
				}
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Get(ctx, 1); err != nil {
				t.Fatal(err)
			}
			time.Sleep(ttl)
			for deadline := time.Now().Add(5 * time.Second); loads.Load() < 2 && time.Now().Before(deadline); {
				time.Sleep(ttl)
				if _, err := c.Get(ctx, 1); err != nil {
					t.Fatal(err)
				}
			}
			if n := loads.Load(); n != 2 {
				t.Errorf("%d loads: the entry did not expire after its TTL of %v", n, ttl)
			}
		})
	}
}
