package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"

	"github.com/ufocache/ufocache/perf/peers"
)

// memCell is one cache filled with n entries of one key/value type.
type memCell struct {
	perEntry float64 // heap bytes per entry held
	held     int     // entries held (Len, or n if unknown)
}

// text is the cell of a cache of capacity n: its bytes per entry held,
// and the share of n it held if under 99%.
func (c memCell) text(n int) string {
	cell := fmt.Sprintf("%.0f", c.perEntry)
	if c.held < n*99/100 {
		cell += fmt.Sprintf(" (held %.0f%%)", 100*float64(c.held)/float64(n))
	}
	return cell
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
		u64 := memKeys(n)
		strs := make([]string, n)
		for i := range n {
			strs[i] = "key:" + strconv.Itoa(i)
		}
		value := []byte("value:0123456789")
		for _, name := range caches {
			cells[key{"uint64", name, n}] = measureMemory(name, u64, n, func(k uint64) uint64 { return k })
			cells[key{"string", name, n}] = measureMemory(name, strs, n, func(string) []byte { return value })
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
				row = append(row, cells[key{kind.id, name, n}].text(n))
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

	// Rewrites: what a cache keeps of the values it no longer holds.
	rn := sizes[0]
	keys := memKeys(rn)
	w := newTable("cache", "after the fill (B/entry)", fmt.Sprintf("after %d rewrites of every key (B/entry)", rewrites), "growth (B/entry)")
	for _, name := range caches {
		fill, again := measureRewrites(name, keys)
		w.row(name, fmt.Sprintf("%.0f", fill), fmt.Sprintf("%.0f", again), fmt.Sprintf("%+.0f", again-fill))
	}
	r.add("## Rewrites of resident keys (retention)\n\n"+
		"A cache of capacity %d filled with %d uint64 keys, each Set storing a fresh %d-byte []byte, then every key Set again %d "+
		"times, in a new random order each time (no new key, and room for all: nothing is evicted); heap bytes per entry held after runtime.GC, values included. A cache that frees "+
		"what it replaced grows by about nothing; one that keeps replaced values reachable grows by up to %d bytes per entry "+
		"and rewrite.\n\n%s", 2*rn, rn, rewriteValue, rewrites, rewriteValue+24, w)
	return r, nil
}

// memKeys returns n distinct uint64 keys, spread over the whole range
// (odd multiples of the golden ratio), none of them 0.
func memKeys(n int) []uint64 {
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = uint64(i)*0x9e3779b97f4a7c15 | 1
	}
	return keys
}

// rewrites and rewriteValue: see the rewrites table of runMemory.
const (
	rewrites     = 32
	rewriteValue = 64
)

// measureRewrites fills the named cache with keys, each with a value of
// its own, and returns the heap per entry held after the fill and after
// rewrites more Sets of every key.
func measureRewrites(name string, keys []uint64) (fill, again float64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Twice the keys: no shard fills up, so nothing is evicted.
	c := peers.MustNew[uint64, []byte](name, peers.Config[[]byte]{Capacity: 2 * int64(len(keys))})
	perEntry := func() float64 {
		if w, ok := c.(peers.Waiter); ok {
			w.Wait()
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := c.Len()
		if held < 0 {
			held = len(keys)
		}
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(max(held, 1))
	}
	n := 0
	set := func(k uint64) {
		c.Set(k, make([]byte, rewriteValue))
		waitEvery(c, n)
		n++
	}
	for _, k := range keys {
		set(k)
	}
	fill = perEntry()
	order := slices.Clone(keys)
	rng := rand.New(rand.NewPCG(1, 2))
	for range rewrites {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			set(k)
		}
	}
	again = perEntry()
	runtime.KeepAlive(c)
	c.Close()
	return fill, again
}

// measureMemory sets keys into the named cache, of the given capacity, and
// returns its heap cost per entry held.
func measureMemory[K peers.Key, V any](name string, keys []K, capacity int, value func(K) V) memCell {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := peers.MustNew[K, V](name, peers.Config[V]{Capacity: int64(capacity)})
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
