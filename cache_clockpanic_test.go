package ufocache_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// panickyClock is an injected clock that panics with errCallback while
// fail is set (a test's fake clock that fails the test on misuse).
type panickyClock struct {
	fakeClock
	fail atomic.Bool
}

func (c *panickyClock) Nanotime() int64 {
	if c.fail.Load() {
		panic(errCallback)
	}
	return c.fakeClock.Nanotime()
}

// TestClockThatPanicsLeavesTheCacheUsable: Options.Clock is a callback
// like the Weigher, the Hasher and OnEvict (TestCallbacksThatPanic): a
// panic in it reaches the caller and leaves no lock held. SetMaxWeight
// reads the clock with its own lock held (its calls are applied one at a
// time): the next SetMaxWeight, and the bound, must not depend on the
// panicking one.
func TestClockThatPanicsLeavesTheCacheUsable(t *testing.T) {
	clk := &panickyClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 64, Shards: 2, Clock: clk})
	for i := range 64 {
		c.SetWithTTL(i, i, time.Hour)
	}
	present := -1
	for k := range c.All() {
		present = k
		break
	}
	mustPanic := func(what string, f func()) { t.Helper(); mustPanicWithCallback(t, what, f) }
	withDeadlockGuard(t, "calls after a panicking Clock", func() {
		clk.fail.Store(true)
		mustPanic("SetMaxWeight with a panicking Clock", func() { _ = c.SetMaxWeight(32) })
		mustPanic("SetWithTTL with a panicking Clock", func() { c.SetWithTTL(100, 100, time.Hour) })
		mustPanic("Get with a panicking Clock", func() { c.Get(present) })
		mustPanic("DeleteExpired with a panicking Clock", func() { c.DeleteExpired() })
		clk.fail.Store(false)

		if err := c.SetMaxWeight(16); err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			c.SetWithTTL(200+i, i, time.Hour)
		}
	})
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
	if c.MaxWeight() != 16 || c.Weight() > 16 {
		t.Fatalf("MaxWeight %d, Weight %d after SetMaxWeight(16)", c.MaxWeight(), c.Weight())
	}
}
