package ufocache_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache"
)

// The peers (otter, theine, ristretto, golang-lru) are compared in perf/;
// here ufocache runs beside xsync.MapOf, the unbounded lock-free ceiling.

const streamLen = 1 << 20

func zipfStream(keys uint64, s float64, seed uint64) []uint64 {
	r := rand.New(rand.NewPCG(seed, seed))
	z := rand.NewZipf(r, s, 1, keys-1)
	out := make([]uint64, streamLen)
	for i := range out {
		out[i] = z.Uint64()
	}
	return out
}

type benchCache interface {
	Get(uint64) (uint64, bool)
	Set(uint64, uint64)
}

type ufo struct {
	c *ufocache.Cache[uint64, uint64]
}

func (u ufo) Get(k uint64) (uint64, bool) { return u.c.Get(k) }
func (u ufo) Set(k, v uint64)             { u.c.Set(k, v) }

type xmap struct{ m *xsync.MapOf[uint64, uint64] }

func (x xmap) Get(k uint64) (uint64, bool) { return x.m.Load(k) }
func (x xmap) Set(k, v uint64)             { x.m.Store(k, v) }

func newCaches(capacity int) map[string]benchCache {
	return map[string]benchCache{
		"ufocache":    ufo{ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: int64(capacity)})},
		"xsync.MapOf": xmap{xsync.NewMapOf[uint64, uint64]()},
	}
}

var seedCounter atomic.Uint64

// run walks the stream from a per-goroutine offset; every readPct-th op in
// 100 is a read, the rest writes.
func run(b *testing.B, c benchCache, stream []uint64, readPct int) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seedCounter.Add(1)*7919) & (streamLen - 1)
		op := 0
		for pb.Next() {
			k := stream[i]
			if op < readPct {
				c.Get(k)
			} else {
				c.Set(k, k)
			}
			i = (i + 1) & (streamLen - 1)
			if op++; op == 100 {
				op = 0
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
}

// BenchmarkGetHit: 16,384 keys all resident in a 65,536-entry cache,
// Zipf 1.01, 100% reads.
func BenchmarkGetHit(b *testing.B) {
	stream := zipfStream(16384, 1.01, 1)
	for _, name := range []string{"ufocache", "xsync.MapOf"} {
		c := newCaches(65536)[name]
		for k := range uint64(16384) {
			c.Set(k, k)
		}
		b.Run(name, func(b *testing.B) { run(b, c, stream, 100) })
	}
}

// BenchmarkGetMiss: Gets of absent keys (uniform over 1M) in a full cache
// of 65,536 entries: a miss's probe alone.
func BenchmarkGetMiss(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	stream := make([]uint64, streamLen)
	for i := range stream {
		stream[i] = 1<<40 + r.Uint64N(1<<20)
	}
	for _, name := range []string{"ufocache", "xsync.MapOf"} {
		c := newCaches(65536)[name]
		for k := range uint64(65536) {
			c.Set(k, k)
		}
		b.Run(name, func(b *testing.B) { run(b, c, stream, 100) })
	}
}

// BenchmarkGetEntrySize: the memory-bound read (Zipf 1.01 over 1M keys,
// the 65,536 hottest resident, inserted in random order as traffic would,
// 100% reads) beside xsync.MapOf holding values of 8, 24 and 40 bytes, so
// that its entries (key and value) weigh 16, 32 and 48 bytes; a ufocache
// entry of uint64 keys and values weighs 48 (its expiry, frequency,
// weight and queue links). It measures what the entry's size costs when
// the hot entries outgrow the core's caches.
func BenchmarkGetEntrySize(b *testing.B) {
	const capacity = 65536
	stream := zipfStream(1<<20, 1.01, 2)
	keys := make([]uint64, capacity)
	for i := range keys {
		keys[i] = uint64(i) // zipfStream's key 0 is the most frequent
	}
	r := rand.New(rand.NewPCG(4, 4))
	r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	caches := []struct {
		name string
		new  func() benchCache
	}{
		{"ufocache", func() benchCache { return newCaches(capacity)["ufocache"] }},
		{"xsync.MapOf/entry=16B", func() benchCache { return newCaches(capacity)["xsync.MapOf"] }},
		{"xsync.MapOf/entry=32B", func() benchCache { return xwide[[3]uint64]{xsync.NewMapOf[uint64, [3]uint64]()} }},
		{"xsync.MapOf/entry=48B", func() benchCache { return xwide[[5]uint64]{xsync.NewMapOf[uint64, [5]uint64]()} }},
	}
	for _, tc := range caches {
		c := tc.new()
		for _, k := range keys {
			c.Set(k, k)
		}
		runtime.GC() // the prefill's garbage is not marked while timed
		b.Run(tc.name, func(b *testing.B) { run(b, c, stream, 100) })
	}
}

// BenchmarkGetInsertOrder: the memory-bound read of BenchmarkGetEntrySize
// after two prefills of the same 65,536 hottest keys: coldest first (as
// perf's throughput suite does, so that a shard that overflows evicts cold
// keys), and in random order. Coldest first puts the hottest keys into an
// index already nearly full, past their home groups, where they stay until
// churn rebuilds it (see shard's rebuildTimes). groups/hit is the mean
// number of index groups ufocache's hits read, which moves with each
// cache's hash seed: coldest first, medians of 1.90-1.97 in samples of 48
// caches (ranges from 1.7 to 2.6-3.4); in this benchmark's one random
// order 1.11-1.69, median 1.21 (1.1-1.5, median 1.16, when each cache
// also gets an order of its own). The random prefill
// holds a few of the hottest keys fewer (the shards' bounds evict some).
func BenchmarkGetInsertOrder(b *testing.B) {
	const capacity = 65536
	stream := zipfStream(1<<20, 1.01, 2)
	coldestFirst := make([]uint64, capacity)
	for i := range coldestFirst {
		coldestFirst[i] = uint64(capacity - 1 - i)
	}
	random := slices.Clone(coldestFirst)
	r := rand.New(rand.NewPCG(5, 5))
	r.Shuffle(len(random), func(i, j int) { random[i], random[j] = random[j], random[i] })
	for _, order := range []struct {
		name string
		keys []uint64
	}{{"coldest-first", coldestFirst}, {"random", random}} {
		for _, name := range []string{"ufocache", "xsync.MapOf"} {
			c := newCaches(capacity)[name]
			for _, k := range order.keys {
				c.Set(k, k)
			}
			runtime.GC()
			b.Run(order.name+"/"+name, func(b *testing.B) {
				run(b, c, stream, 100)
				if u, ok := c.(ufo); ok {
					b.ReportMetric(groupsPerHit(u.c, stream), "groups/hit")
				}
			})
		}
	}
}

// groupsPerHit is the mean number of index groups c's Gets of stream read
// to reach the entries they hit.
func groupsPerHit(c *ufocache.Cache[uint64, uint64], stream []uint64) float64 {
	groups, hits := 0, 0
	for _, k := range stream {
		if n := ufocache.GroupsReadOf(c, k); n > 0 {
			groups += n
			hits++
		}
	}
	return float64(groups) / float64(max(hits, 1))
}

// xwide is xsync.MapOf with a wider value, whose first word holds the
// benchmark's value.
type xwide[W [3]uint64 | [5]uint64] struct{ m *xsync.MapOf[uint64, W] }

func (x xwide[W]) Get(k uint64) (uint64, bool) {
	w, ok := x.m.Load(k)
	return w[0], ok
}

func (x xwide[W]) Set(k, v uint64) {
	var w W
	w[0] = v
	x.m.Store(k, w)
}

// BenchmarkMix: Zipf 1.01 over 1M keys, 65,536 entries, prefilled from the
// stream; reads 100/75/50/25/0%.
func BenchmarkMix(b *testing.B) {
	stream := zipfStream(1<<20, 1.01, 2)
	for _, reads := range []int{100, 75, 50, 25, 0} {
		for _, name := range []string{"ufocache", "xsync.MapOf"} {
			c := newCaches(65536)[name]
			for _, k := range stream {
				c.Set(k, k)
			}
			b.Run(fmt.Sprintf("reads=%d/%s", reads, name), func(b *testing.B) { run(b, c, stream, reads) })
		}
	}
}

// BenchmarkSetDuringDeleteExpired: the latency of Sets on one core while
// DeleteExpired scans a cache of 4M entries with a TTL on the other: none
// expired (the scan is the whole cost), or a tenth (written again, expiring,
// before each scan: the scan removes 400k entries in batches). It reports
// the Sets' 99.99th percentile and slowest, in ns, over all the scans.
func BenchmarkSetDuringDeleteExpired(b *testing.B) {
	const n = 1 << 22
	for _, expired := range []int{0, 10} {
		b.Run(fmt.Sprintf("expired=%d%%", expired), func(b *testing.B) {
			clk := &fakeClock{}
			c := ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: n, Clock: clk})
			for i := range uint64(n) {
				c.SetWithTTL(i, i, time.Hour)
			}
			lat := make([]time.Duration, 0, 1<<22)
			own := make([]time.Duration, 0, 1<<20)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if expired > 0 { // a tenth of the keys, expiring in a second
					for i := uint64(0); i < n; i += uint64(100 / expired) {
						c.SetWithTTL(i, i, time.Second)
					}
					clk.Advance(2 * time.Second)
				}
				b.StartTimer()
				var stop atomic.Bool
				done := make(chan []time.Duration)
				go func() {
					own := own[:0]
					for i := uint64(1); !stop.Load(); i += 2 { // odd keys: never the expiring ones
						start := time.Now()
						c.SetWithTTL(i%n, i, time.Hour)
						own = append(own, time.Since(start))
					}
					done <- own
				}()
				c.DeleteExpired()
				stop.Store(true)
				own = <-done
				lat = append(lat, own...)
			}
			b.StopTimer()
			reportTail(b, lat, 0.9999)
		})
	}
}

// BenchmarkSetTTL: read-through traffic on entries with a TTL, where
// expiry is what frees most of the room: Zipf 1.01 over 1M keys into a
// cache of 65,536 (and of 1M: room for every key, so that only expiry
// reclaims), each key with a TTL of its own from 1 to 12 s on a clock that
// the requests move, 10 µs each (so that a slower cache does not see more
// of its entries expire per request); a miss stores the key.
// xsync.MapOf, which never expires anything, stores on its misses too, as
// the unbounded ceiling.
func BenchmarkSetTTL(b *testing.B) {
	stream := zipfStream(1<<20, 1.01, 3)
	for _, capacity := range []int{65536, 1 << 20} {
		for _, name := range []string{"ufocache", "xsync.MapOf"} {
			b.Run(fmt.Sprintf("cap=%d/%s", capacity, name), func(b *testing.B) {
				clk := &fakeClock{}
				var get func(uint64) bool
				var set func(uint64)
				switch name {
				case "ufocache":
					c := ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: int64(capacity), Clock: clk})
					get = func(k uint64) bool { _, ok := c.Get(k); return ok }
					set = func(k uint64) { c.SetWithTTL(k, k, time.Duration(1000+k%11001)*time.Millisecond) }
				default:
					m := xsync.NewMapOf[uint64, uint64]()
					get = func(k uint64) bool { _, ok := m.Load(k); return ok }
					set = func(k uint64) { m.Store(k, k) }
				}
				b.ReportAllocs()
				b.ResetTimer()
				var misses atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := int(seedCounter.Add(1)*7919) & (streamLen - 1)
					n := int64(0)
					for pb.Next() {
						if k := stream[i]; !get(k) {
							set(k)
							n++
						}
						if i = (i + 1) & (streamLen - 1); i%64 == 0 {
							clk.Advance(64 * 10 * time.Microsecond)
						}
					}
					misses.Add(n)
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
				b.ReportMetric(float64(misses.Load())/float64(b.N), "misses/op")
			})
		}
	}
}

// BenchmarkSetTail: the latency of Sets of new keys, one goroutine, into
// a full cache of 1M entries, each Set evicting one (full), and into an
// empty cache of 4M until it is full, over and over (filling; weighted:
// one with a Weigher, whose few shards grow their sketches with their
// entries; presized: that one with an InitialCapacity of 4M): the slow tail is the index's upkeep (the rebuild of a shard's
// table that churn has degraded, and the doubling of a growing one), the
// sketch's doubling, all three spread over the writes, and the collector. It reports the 99.9th, 99.99th and 99.999th
// percentiles and the slowest, in ns; run it with -benchtime 8000000x or
// so for a meaningful 99.999th. xsync.MapOf is the reference: full, its
// oldest key deleted at each store to hold 1M.
func BenchmarkSetTail(b *testing.B) {
	for _, phase := range []string{"full", "filling", "weighted", "presized"} {
		weighted := phase == "weighted" || phase == "presized"
		for _, name := range []string{"ufocache", "xsync.MapOf"} {
			if weighted && name != "ufocache" {
				continue
			}
			b.Run(phase+"/"+name, func(b *testing.B) {
				n := uint64(1 << 20)
				if phase != "full" {
					n = 1 << 22
				}
				var set func(uint64)
				fresh := func() {
					switch name {
					case "ufocache":
						opts := ufocache.Options[uint64, uint64]{MaxWeight: int64(n)}
						if weighted {
							opts.Weigher = func(uint64, uint64) uint32 { return 1 }
						}
						if phase == "presized" {
							opts.InitialCapacity = int(n)
						}
						c := ufocache.Must(opts)
						set = func(k uint64) { c.Set(k, k) }
					default:
						m := xsync.NewMapOf[uint64, uint64]()
						set = func(k uint64) {
							m.Store(k, k)
							if phase == "full" && k >= n {
								m.Delete(k - n)
							}
						}
					}
				}
				fresh()
				if phase == "full" {
					for k := range n {
						set(k)
					}
				}
				lat := make([]time.Duration, b.N)
				b.ResetTimer()
				for i := range b.N {
					k := n + uint64(i)
					if phase != "full" {
						if k = uint64(i) % n; k == 0 && i > 0 {
							b.StopTimer()
							fresh()
							b.StartTimer()
						}
					}
					start := time.Now()
					set(k)
					lat[i] = time.Since(start)
				}
				b.StopTimer()
				reportTail(b, lat, 0.999, 0.9999, 0.99999)
			})
		}
	}
}

// reportTail reports the given percentiles of the latencies lat (sorted
// here) and the slowest, in ns.
func reportTail(b *testing.B, lat []time.Duration, qs ...float64) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	for _, q := range qs {
		b.ReportMetric(float64(lat[int(q*float64(len(lat)-1))]), "p"+strconv.FormatFloat(100*q, 'g', 6, 64)+"-ns")
	}
	b.ReportMetric(float64(lat[len(lat)-1]), "max-ns")
}

// BenchmarkGetBuiltKey: hits on string keys that the caller builds in a
// buffer of its own for each call (as a proxy builds one from a request):
// Get(string(buf)), GetBytes(buf), xsync.MapOf's Load(string(buf)) and a
// read-only Go map's m[string(buf)], with keys of 20 and 60 bytes (the
// compiler builds string(buf) of up to 32 bytes on the stack where it can).
// Zipf 1.01 over 16,384 keys, all resident.
func BenchmarkGetBuiltKey(b *testing.B) {
	stream := zipfStream(16384, 1.01, 1)
	for _, size := range []int{20, 60} {
		keys := make([][]byte, 16384)
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "%0*d", size, i)
		}
		c := ufocache.Must(ufocache.Options[string, uint64]{MaxWeight: 65536})
		x := xsync.NewMapOf[string, uint64]()
		m := map[string]uint64{}
		for i, k := range keys {
			c.Set(string(k), uint64(i))
			x.Store(string(k), uint64(i))
			m[string(k)] = uint64(i)
		}
		for _, get := range []struct {
			name string
			f    func([]byte) bool
		}{
			{"ufocache.Get", func(k []byte) bool { _, ok := c.Get(string(k)); return ok }},
			{"ufocache.GetBytes", func(k []byte) bool { _, ok := ufocache.GetBytes(c, k); return ok }},
			{"xsync.MapOf", func(k []byte) bool { _, ok := x.Load(string(k)); return ok }},
			{"map", func(k []byte) bool { _, ok := m[string(k)]; return ok }},
		} {
			b.Run(fmt.Sprintf("bytes=%d/%s", size, get.name), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := int(seedCounter.Add(1)*7919) & (streamLen - 1)
					buf := make([]byte, 0, 64)
					for pb.Next() {
						buf = append(buf[:0], keys[stream[i]]...)
						if !get.f(buf) {
							panic("a resident key missed")
						}
						i = (i + 1) & (streamLen - 1)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
			})
		}
	}
}
