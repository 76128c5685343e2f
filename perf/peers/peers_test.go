package peers_test

import (
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/ufocache/ufocache/perf/peers"
)

func TestEveryCacheStoresAndReturns(t *testing.T) {
	for _, name := range peers.All() {
		t.Run(name, func(t *testing.T) {
			c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: 1000})
			defer c.Close()
			if c.Name() != name {
				t.Fatalf("Name() = %q", c.Name())
			}
			for k := range uint64(100) {
				c.Set(k, k*3)
				if w, ok := c.(peers.Waiter); ok {
					w.Wait()
				}
			}
			found := 0
			for k := range uint64(100) {
				if v, ok := c.Get(k); ok {
					found++
					if v != k*3 {
						t.Fatalf("Get(%d) = %d", k, v)
					}
				}
			}
			// Admission may decline some inserts into a cold cache, but a
			// cache that keeps nothing is broken.
			if found < 50 {
				t.Fatalf("only %d of 100 keys found", found)
			}
			if n := c.Len(); n != -1 && (n < found || n > 100) {
				t.Fatalf("Len() = %d with %d keys found", n, found)
			}
			if _, ok := c.Get(12345); ok {
				t.Fatal("hit on a key never set")
			}
		})
	}
}

func TestStringKeys(t *testing.T) {
	for _, name := range peers.All() {
		c := peers.MustNew[string, []byte](name, peers.Config[[]byte]{Capacity: 100})
		c.Set("k", []byte("v"))
		if w, ok := c.(peers.Waiter); ok {
			w.Wait()
		}
		if v, ok := c.Get("k"); !ok || string(v) != "v" {
			t.Errorf("%s: Get = %q, %v", name, v, ok)
		}
		c.Close()
	}
}

func TestWeighted(t *testing.T) {
	for _, name := range peers.Weighted {
		c, err := peers.New[uint64, uint32](name, peers.Config[uint32]{Capacity: 1 << 20, Weigher: func(v uint32) uint32 { return v }})
		if err != nil {
			t.Fatal(err)
		}
		c.Set(1, 4096)
		if w, ok := c.(peers.Waiter); ok {
			w.Wait()
		}
		if _, ok := c.Get(1); !ok {
			t.Errorf("%s: weighted entry not found", name)
		}
		c.Close()
	}
	if _, err := peers.New[uint64, uint32](peers.LRU, peers.Config[uint32]{Capacity: 10, Weigher: func(uint32) uint32 { return 1 }}); err == nil {
		t.Error("golang-lru accepted a weigher")
	}
}

func TestUnknown(t *testing.T) {
	if _, err := peers.New[uint64, uint64]("memcached", peers.Config[uint64]{Capacity: 1}); err == nil {
		t.Fatal("no error for an unknown cache")
	}
	if _, err := peers.New[uint64, uint64](peers.LRU, peers.Config[uint64]{}); err == nil {
		t.Fatal("no error for capacity 0")
	}
}

// TestSynchronousHoldTheirBound: the caches that Config.Sync makes
// synchronous hold their bound after every Set of a replay (Get, and on a
// miss Set and Wait), which is what lets the hit-ratio suite pool their
// replays and drop their occupancy marks.
func TestSynchronousHoldTheirBound(t *testing.T) {
	const capacity = 100
	for _, name := range peers.Synchronous {
		t.Run(name, func(t *testing.T) {
			c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: capacity, Sync: true})
			defer c.Close()
			w, _ := c.(peers.Waiter)
			most := 0
			for i := range uint64(20000) {
				k := i % 997 * (i % 3) // a loop, with a third of the requests on key 0
				if _, ok := c.Get(k); ok {
					continue
				}
				c.Set(k, k)
				if w != nil {
					w.Wait()
				}
				most = max(most, c.Len())
			}
			if most > capacity {
				t.Fatalf("held %d entries, bound %d", most, capacity)
			}
			if most < capacity/2 {
				t.Fatalf("held at most %d entries of %d: the replay did not fill it", most, capacity)
			}
		})
	}
}

// TestWaitedListsTheWaiters: peers.Waited names exactly the caches that
// implement Waiter, as the hit-ratio report says.
func TestWaitedListsTheWaiters(t *testing.T) {
	for _, name := range peers.All() {
		c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: 100})
		_, ok := c.(peers.Waiter)
		c.Close()
		if listed := slices.Contains(peers.Waited, name); ok != listed {
			t.Errorf("%s: implements Waiter %v, listed in Waited %v", name, ok, listed)
		}
	}
}

// TestHeldWeight: every weighted cache reports the weight it holds (not
// its entry count) and, otter v1 apart, holds its bound's worth and no
// more once its writes are applied.
func TestHeldWeight(t *testing.T) {
	for _, name := range peers.Weighted {
		t.Run(name, func(t *testing.T) {
			c := peers.MustNew[uint64, uint32](name, peers.Config[uint32]{Capacity: 1000, Weigher: func(v uint32) uint32 { return v }, Entries: 100, Sync: true})
			defer c.Close()
			wh, ok := c.(peers.WeightHolder)
			if !ok {
				t.Fatalf("%s does not implement WeightHolder", name)
			}
			w, _ := c.(peers.Waiter)
			var set int64
			for k := range uint64(40) {
				if c.Set(k, 7) {
					set += 7
				}
				if w != nil {
					w.Wait()
				}
			}
			if set != 40*7 {
				t.Fatalf("%d of 280 units set within the bound were accepted", set)
			}
			if got := wh.HeldWeight(); got != set {
				t.Errorf("after %d units set within the bound, HeldWeight = %d, want %d", set, got, set)
			}
			for k := range uint64(1000) {
				c.Set(1000+k, 9)
				if w != nil {
					w.Wait()
				}
			}
			got := wh.HeldWeight()
			t.Logf("after 9000 units set, HeldWeight = %d at a bound of 1000", got)
			// otter v1 has no synchronous mode: it holds what its
			// maintenance has not yet evicted.
			switch {
			case name == peers.OtterV1 && got < 1000-9:
				t.Errorf("after 9000 units set, HeldWeight = %d, want at least a full bound's worth (991)", got)
			case name != peers.OtterV1 && (got < 1000-9 || got > 1000):
				t.Errorf("after 9000 units set, HeldWeight = %d, want the bound's worth of 9-unit entries (991-1000)", got)
			}
		})
	}
}

// TestExpiringCachesFollowTheInjectedClock: the caches in Expiring expire
// each entry its TTL after it was written, by the clock the caller drives,
// and no other cache accepts a TTL or a clock.
func TestExpiringCachesFollowTheInjectedClock(t *testing.T) {
	for _, name := range peers.Expiring {
		t.Run(name, func(t *testing.T) {
			var now int64 = 1
			ttl := func(v uint64) time.Duration { return time.Duration(v) * time.Second }
			c := peers.MustNew[uint64](name, peers.Config[uint64]{Capacity: 1000, Sync: true, TTL: ttl, Clock: func() int64 { return now }})
			defer c.Close()
			for k := uint64(1); k <= 20; k++ {
				c.Set(k, k) // k expires k seconds from now
			}
			for step := int64(1); step <= 21; step++ {
				now += int64(time.Second)
				for k := uint64(1); k <= 20; k++ {
					_, ok := c.Get(k)
					if want := int64(k) > step; ok != want {
						t.Fatalf("%d s after the writes, Get(%d) found %v; want %v (TTL %d s)", step, k, ok, want, k)
					}
				}
			}
		})
	}
	for _, name := range peers.All() {
		if slices.Contains(peers.Expiring, name) {
			continue
		}
		if _, err := peers.New[uint64](name, peers.Config[uint64]{Capacity: 10, TTL: func(uint64) time.Duration { return time.Second }}); err == nil {
			t.Errorf("%s accepted a TTL it cannot follow on an injected clock", name)
		}
		if _, err := peers.New[uint64](name, peers.Config[uint64]{Capacity: 10, Clock: func() int64 { return 0 }}); err == nil {
			t.Errorf("%s accepted an injected clock", name)
		}
	}
}

// Every adapter, as the throughput suites build it (no Weigher), is one
// word: an interface holds it without a box on the heap. And that word
// leads to the cache at once: a pointer to an adapter struct that holds
// a pointer to the cache is one word too, but costs a load more per call
// than another's. ufocache's adapter was made one pointer for that (a
// tenth of its hit path); otter v1's and v2's were two words until a
// review found them, theine's and ristretto's pointers to such structs
// until another did.
func TestAdaptersAreOneWord(t *testing.T) {
	for _, name := range peers.All() {
		c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: 1000})
		ty := reflect.TypeOf(c)
		if ty.Size() != unsafe.Sizeof(uintptr(0)) {
			t.Errorf("%s's adapter %v is %d bytes", name, ty, ty.Size())
		}
		if ty.Kind() == reflect.Pointer && ty.Elem().Kind() == reflect.Struct && ty.Elem().NumField() > 0 &&
			ty.Elem().Field(0).Type.Kind() == reflect.Pointer {
			t.Errorf("%s's adapter %v reaches its cache through two pointers", name, ty)
		}
		c.Close()
	}
}
