package ufocache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// newHitBench returns a Cache and an RTCache over it holding keys 0..n-1.
func newHitBench(b *testing.B, n int) (*ufocache.Cache[uint64, uint64], *ufocache.RTCache[uint64, uint64]) {
	c := ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: 2 * int64(n)})
	load := func(_ context.Context, k uint64) (uint64, time.Duration, error) { return k, 0, nil }
	rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[uint64, uint64]{})
	if err != nil {
		b.Fatal(err)
	}
	for k := range uint64(n) {
		rt.Set(k, k, 0)
	}
	return c, rt
}

// BenchmarkRTGetHit puts RTCache.Get on hits beside Cache.Get on the same
// cache and keys: the read-through layer's cost on the hot path (target:
// RTCache ≤ 1.1× Cache). Compare the two sub-benchmarks of one run:
//
//	go test -run '^$' -bench 'RTGetHit' -count 6 . | benchstat -col /api -
func BenchmarkRTGetHit(b *testing.B) {
	const n = 1 << 14
	c, rt := newHitBench(b, n)
	for k := range uint64(n) {
		if _, ok := c.Get(k); !ok {
			b.Fatalf("key %d not resident", k)
		}
	}
	stream := zipfStream(n, 1.01, 42)
	ctx := context.Background()
	b.Run("api=Cache", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seedCounter.Add(1)*7919) & (streamLen - 1)
			for pb.Next() {
				if _, ok := c.Get(stream[i]); !ok {
					b.Fatal("miss")
				}
				i = (i + 1) & (streamLen - 1)
			}
		})
	})
	b.Run("api=RTCache", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seedCounter.Add(1)*7919) & (streamLen - 1)
			for pb.Next() {
				if _, st, _ := rt.Get(ctx, stream[i]); st != ufocache.Hit {
					b.Fatal("miss")
				}
				i = (i + 1) & (streamLen - 1)
			}
		})
	})
}

// BenchmarkRTGetHitRatio runs Cache.Get and RTCache.Get on hits in
// alternating blocks on one goroutine, so that both see the same machine
// load, and reports the ratio of their costs as rt/cache. It is the number
// to quote on a shared machine.
func BenchmarkRTGetHitRatio(b *testing.B) {
	const n = 1 << 14
	c, rt := newHitBench(b, n)
	stream := zipfStream(n, 1.01, 43)
	ctx := context.Background()
	const block = 1 << 12
	var tc, trt time.Duration
	var sink uint64
	b.ReportAllocs()
	b.ResetTimer()
	// Each round reads a fresh stretch of the stream with each API, in
	// turn first, so that neither reads keys the other just brought into
	// the CPU caches.
	cacheBlock := func(i int) time.Duration {
		start := time.Now()
		for j := range block {
			v, _ := c.Get(stream[(i+j)&(streamLen-1)])
			sink += v
		}
		return time.Since(start)
	}
	rtBlock := func(i int) time.Duration {
		start := time.Now()
		for j := range block {
			v, _, _ := rt.Get(ctx, stream[(i+j)&(streamLen-1)])
			sink += v
		}
		return time.Since(start)
	}
	for done, i, round := 0, 0, 0; done < b.N; done, round = done+2*block, round+1 {
		if round%2 == 0 {
			tc += cacheBlock(i)
			trt += rtBlock(i + block)
		} else {
			trt += rtBlock(i)
			tc += cacheBlock(i + block)
		}
		i = (i + 2*block) & (streamLen - 1)
	}
	if sink == 1 {
		b.Log(sink)
	}
	b.ReportMetric(float64(trt)/float64(tc), "rt/cache")
}

// BenchmarkRTGetBytesHit puts the byte-keyed reads of an RTCache on hits
// beside GetBytes on its Cache, same keys, one goroutine: what the
// read-through layer costs a resolver's hot path. Compare the
// sub-benchmarks of one run.
func BenchmarkRTGetBytesHit(b *testing.B) {
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 1 << 12})
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (int, time.Duration, error) { return 0, 0, nil },
		ufocache.RTOptions[string, int]{})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("www.example" + strconv.Itoa(i) + ".com.|A|IN")
		c.Set(string(keys[i]), i)
	}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		get  func([]byte) bool
	}{
		{"api=GetBytes", func(k []byte) bool { _, ok := ufocache.GetBytes(c, k); return ok }},
		{"api=RTGetBytes", func(k []byte) bool { _, st, _ := ufocache.RTGetBytes(ctx, rt, k); return st == ufocache.Hit }},
		{"api=RTGetStaleBytes", func(k []byte) bool {
			_, ss, _ := ufocache.RTGetStaleBytes(ctx, rt, k, time.Second)
			return ss.Status == ufocache.Hit
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !bc.get(keys[i&1023]) {
					b.Fatal("miss")
				}
				i++
			}
		})
	}
}
