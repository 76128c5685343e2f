package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/ufocache/ufocache/perf/peers"
)

// memCell is one cache filled with n entries of one key/value type.
type memCell struct {
	perEntry float64 // heap bytes per entry held
	held     int     // entries held (Len, or n if unknown)
}

func runMemory(cfg *config) (*report, error) {
	caches := cfg.selected(peers.All())
	sizes := []int{10_000, 100_000, 1_000_000}
	if cfg.quick {
		sizes = []int{1_000, 10_000}
	}
	type key struct {
		kind, cache string
		n           int
	}
	cells := map[key]memCell{}
	for _, n := range sizes {
		u64 := make([]uint64, n)
		strs := make([]string, n)
		for i := range n {
			u64[i] = uint64(i)*0x9e3779b97f4a7c15 | 1
			strs[i] = "key:" + strconv.Itoa(i)
		}
		value := []byte("value:0123456789")
		for _, name := range caches {
			cells[key{"uint64", name, n}] = measureMemory(name, u64, func(k uint64) uint64 { return k })
			cells[key{"string", name, n}] = measureMemory(name, strs, func(string) []byte { return value })
		}
		if !cfg.quick {
			fmt.Fprintf(os.Stderr, "perf: memory: %d entries done\n", n)
		}
		runtime.KeepAlive(u64)
		runtime.KeepAlive(strs)
	}

	r := &report{title: "Memory per entry"}
	r.add("Heap bytes per entry with the cache full: runtime.GC and HeapAlloc before creating the cache and after Set of n " +
		"distinct keys into a cache of capacity n, divided by the entries it holds (Len; n for sync-map, which cannot count). " +
		"Keys and values are allocated before the first measurement, so the numbers are the cache's own overhead: for " +
		"string→[]byte the key's bytes and the value's array are not counted, only the string and slice headers the cache " +
		"stores. Where a cache held fewer than n entries (admission, per-shard bounds) the share it held is shown. " +
		"A cache that applies writes asynchronously and can be waited for (ristretto, theine) is waited for every 1024 Sets, so that it drops none.")
	for _, kind := range []struct{ id, title string }{{"uint64", "uint64 → uint64"}, {"string", "string → []byte"}} {
		head := []string{"cache"}
		for _, n := range sizes {
			head = append(head, fmt.Sprintf("%d entries", n))
		}
		t := newTable(head...)
		for _, name := range caches {
			row := []string{name}
			for _, n := range sizes {
				c := cells[key{kind.id, name, n}]
				cell := fmt.Sprintf("%.0f", c.perEntry)
				if c.held < n*99/100 {
					cell += fmt.Sprintf(" (held %.0f%%)", 100*float64(c.held)/float64(n))
				}
				row = append(row, cell)
			}
			t.row(row...)
		}
		r.add("## %s (bytes per entry)\n\n%s", kind.title, t)
	}
	big := sizes[len(sizes)-1]
	h := newTable("cache", fmt.Sprintf("uint64→uint64, %d entries (B/entry)", big), fmt.Sprintf("string→[]byte, %d entries (B/entry)", big))
	for _, name := range caches {
		h.row(name, fmt.Sprintf("%.0f", cells[key{"uint64", name, big}].perEntry), fmt.Sprintf("%.0f", cells[key{"string", name, big}].perEntry))
	}
	r.headline = []string{h.String()}
	return r, nil
}

// measureMemory fills the named cache with keys and returns its heap cost
// per entry held.
func measureMemory[K peers.Key, V any](name string, keys []K, value func(K) V) memCell {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := peers.MustNew[K, V](name, peers.Config[V]{Capacity: int64(len(keys))})
	for i, k := range keys {
		c.Set(k, value(k))
		waitEvery(c, i)
	}
	if w, ok := c.(peers.Waiter); ok {
		w.Wait()
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := c.Len()
	runtime.KeepAlive(c)
	c.Close()
	if held < 0 {
		held = len(keys)
	}
	return memCell{
		perEntry: float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(max(held, 1)),
		held:     held,
	}
}
