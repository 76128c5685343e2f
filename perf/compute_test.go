package main

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	otterv2 "github.com/maypok86/otter/v2"
	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache"
)

// BenchmarkCompute: per-client counters, as a rate limiter keeps them:
// each operation adds one to the counter of a client drawn from 16,384
// (Zipf 1.01, all resident), with the library's atomic read-modify-write,
// from every P at once (-cpu 2: two goroutines contending for the hot
// clients). The counts are checked at the end: an increment lost fails
// the benchmark. otter v2 is the one peer with a Compute; xsync.MapOf is
// an unbounded map with one.
//
//	go -C perf test -run '^$' -bench Compute -cpu 1,2 -count 3
func BenchmarkCompute(b *testing.B) {
	const n = 1 << 14
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.01, 1, n-1)
	keys := make([]uint64, 1<<16)
	for i := range keys {
		keys[i] = z.Uint64()
	}
	ufo := ufocache.Must(ufocache.Options[uint64, int64]{MaxWeight: 2 * n})
	otter, err := otterv2.New(&otterv2.Options[uint64, int64]{MaximumSize: 2 * n})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { otter.StopAllGoroutines() })
	x := xsync.NewMapOf[uint64, int64]()
	incrs := map[string]func(k uint64){
		"ufocache": func(k uint64) {
			ufo.Compute(k, func(old int64, _ bool) (int64, time.Duration, ufocache.ComputeOp) {
				return old + 1, 0, ufocache.ComputeStore
			})
		},
		"otter v2": func(k uint64) {
			otter.Compute(k, func(old int64, _ bool) (int64, otterv2.ComputeOp) { return old + 1, otterv2.WriteOp })
		},
		"xsync.MapOf": func(k uint64) {
			x.Compute(k, func(old int64, _ bool) (int64, bool) { return old + 1, false })
		},
	}
	sums := map[string]func() int64{
		"ufocache": func() (s int64) {
			for _, v := range ufo.All() {
				s += v
			}
			return s
		},
		"otter v2": func() (s int64) {
			for _, v := range otter.All() {
				s += v
			}
			return s
		},
		"xsync.MapOf": func() (s int64) {
			x.Range(func(_ uint64, v int64) bool { s += v; return true })
			return s
		},
	}
	for _, name := range []string{"ufocache", "otter v2", "xsync.MapOf"} {
		incr := incrs[name]
		b.Run(name, func(b *testing.B) {
			before := sums[name]()
			var ops, next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1) * 7919)
				done := int64(0)
				for pb.Next() {
					incr(keys[i%len(keys)])
					i++
					done++
				}
				ops.Add(done)
			})
			b.StopTimer()
			if got := sums[name]() - before; got != ops.Load() {
				b.Fatalf("the counters rose by %d for %d increments", got, ops.Load())
			}
		})
	}
}
