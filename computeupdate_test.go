package ufocache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// ComputeUpdate stores keeping the expiry of the live value found: a
// counter of a fixed 10s window, incremented by ComputeUpdate with the
// window's length, ends with the window however often it was written, and
// the next increment opens a new one (no live value: the TTL returned
// applies, as it does over an expired value); a value that never expires
// stays so; a kept expiry that passes while the function runs stores
// nothing, as a negative TTL would.
func TestComputeUpdate(t *testing.T) {
	clock := &fakeClock{}
	clock.t.Store(1)
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, DefaultTTL: time.Minute, Clock: clock})
	update := func(k string, ttl time.Duration) (int, bool) {
		return c.Compute(k, func(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
			return old + 1, ttl, ufocache.ComputeUpdate
		})
	}
	left := func(k string) time.Duration {
		if _, ttl, ok := c.GetWithTTL(k); ok {
			return ttl
		}
		return -1
	}
	for range 5 {
		update("w", 10*time.Second)
		clock.Advance(time.Second)
	}
	if v, _ := c.Get("w"); v != 5 || left("w") != 5*time.Second {
		t.Fatalf("after 5 increments 1s apart: %d with %v left, want 5 with the window's 5s", v, left("w"))
	}
	clock.Advance(5 * time.Second)
	if v, ok := update("w", 10*time.Second); v != 1 || !ok || left("w") != 10*time.Second {
		t.Fatalf("once the window ended: %d, %v with %v left, want a new window (1, true, 10s)", v, ok, left("w"))
	}
	if v, ok := update("d", 0); v != 1 || !ok || left("d") != time.Minute {
		t.Errorf("no value, TTL 0: %d, %v with %v left, want the DefaultTTL", v, ok, left("d"))
	}
	c.SetWithTTL("n", 1, ufocache.NoExpiration)
	if v, ok := update("n", time.Second); v != 2 || !ok || left("n") != ufocache.NoExpiration {
		t.Errorf("over a value that never expires: %d, %v with %v left, want it kept so", v, ok, left("n"))
	}

	c.SetWithTTL("p", 1, time.Second)
	v, ok := c.Compute("p", func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
		clock.Advance(time.Second)
		return old + 1, time.Hour, ufocache.ComputeUpdate
	})
	if ok || v != 0 || left("p") != -1 {
		t.Errorf("a kept expiry that passed in the step: %d, %v, %v left; want nothing stored", v, ok, left("p"))
	}
	if s := c.Stats(); s.Rejections != 1 {
		t.Errorf("Stats().Rejections = %d, want the one value not stored", s.Rejections)
	}
}

// A fixed-window rate limit: at most 3 requests per client in each 10s
// window, the window starting at the client's first request. ComputeUpdate
// keeps the count's expiry, so the window ends 10s after it began however
// often the count was written, and the next request opens a new one.
func ExampleCache_Compute_fixedWindow() {
	clk := &exampleClock{}
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100_000, Clock: clk})
	allow := func(client string) bool {
		n, _ := c.Compute(client, func(n int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
			return n + 1, 10 * time.Second, ufocache.ComputeUpdate
		})
		return n <= 3
	}
	for range 4 {
		fmt.Print(allow("bob"), " ")
		clk.now += int64(2 * time.Second)
	}
	clk.now += int64(3 * time.Second) // 11s after the first request
	fmt.Println(allow("bob"))
	// Output: true true true false true
}
