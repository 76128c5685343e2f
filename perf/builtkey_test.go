package main

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	theinego "github.com/Yiling-J/theine-go"
	ristrettov2 "github.com/dgraph-io/ristretto/v2"
	golru "github.com/hashicorp/golang-lru/v2"
	otterv2 "github.com/maypok86/otter/v2"
	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache"
)

// builtKeyGets returns, for each library, a Get of a string key given as
// the bytes the caller built it in, called directly on the library's own
// type: perf's adapters are an interface, and a key passed through an
// interface call escapes whatever the library does with it.
func builtKeyGets(b *testing.B, keys [][]byte) map[string]func([]byte) bool {
	const capacity = 1 << 16
	ufo := ufocache.Must(ufocache.Options[string, int]{MaxWeight: capacity})
	otter, err := otterv2.New(&otterv2.Options[string, int]{MaximumSize: capacity})
	if err != nil {
		b.Fatal(err)
	}
	theine, err := theinego.NewBuilder[string, int](capacity).Build()
	if err != nil {
		b.Fatal(err)
	}
	rist, err := ristrettov2.NewCache(&ristrettov2.Config[string, int]{NumCounters: 10 * capacity, MaxCost: capacity, BufferItems: 64, IgnoreInternalCost: true})
	if err != nil {
		b.Fatal(err)
	}
	lru, err := golru.New[string, int](capacity)
	if err != nil {
		b.Fatal(err)
	}
	x := xsync.NewMapOf[string, int]()
	m := map[string]int{}
	for i, k := range keys {
		ufo.Set(string(k), i)
		otter.Set(string(k), i)
		theine.Set(string(k), i, 1)
		rist.Set(string(k), i, 1)
		lru.Add(string(k), i)
		x.Store(string(k), i)
		m[string(k)] = i
	}
	rist.Wait()
	b.Cleanup(func() {
		otter.StopAllGoroutines()
		theine.Close()
		rist.Close()
	})
	return map[string]func([]byte) bool{
		"ufocache Get":      func(k []byte) bool { _, ok := ufo.Get(string(k)); return ok },
		"ufocache GetBytes": func(k []byte) bool { _, ok := ufocache.GetBytes(ufo, k); return ok },
		"otter v2":          func(k []byte) bool { _, ok := otter.GetIfPresent(string(k)); return ok },
		"theine":            func(k []byte) bool { _, ok := theine.Get(string(k)); return ok },
		"ristretto":         func(k []byte) bool { _, ok := rist.Get(string(k)); return ok },
		"golang-lru":        func(k []byte) bool { _, ok := lru.Get(string(k)); return ok },
		"xsync.MapOf":       func(k []byte) bool { _, ok := x.Load(string(k)); return ok },
		"map (read-only)":   func(k []byte) bool { _, ok := m[string(k)]; return ok },
	}
}

// BenchmarkBuiltKey: Gets of 16,384 resident string keys (Zipf 1.01), each
// built for its call in the caller's reused buffer, as a proxy or a DNS
// resolver builds one from a request, with keys of 20 and 60 bytes (Go
// builds string(buf) of up to 32 bytes on the stack where it can prove
// the string does not escape): allocations and time per Get, from two
// goroutines. It reports the share of Gets that hit (ristretto may
// decline Sets).
//
//	go -C perf test -run '^$' -bench BuiltKey -benchmem
func BenchmarkBuiltKey(b *testing.B) {
	const n = 1 << 14
	r := rand.New(rand.NewPCG(1, 1))
	z := rand.NewZipf(r, 1.01, 1, n-1)
	stream := make([]uint32, 1<<20)
	for i := range stream {
		stream[i] = uint32(z.Uint64())
	}
	for _, size := range []int{20, 60} {
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "%0*d", size, i)
		}
		gets := builtKeyGets(b, keys)
		for _, name := range []string{"ufocache Get", "ufocache GetBytes", "otter v2", "theine", "ristretto", "golang-lru", "xsync.MapOf", "map (read-only)"} {
			get := gets[name]
			b.Run(fmt.Sprintf("bytes=%d/%s", size, name), func(b *testing.B) {
				var start, hits atomic.Int64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := int(start.Add(7919)) & (len(stream) - 1)
					buf := make([]byte, 0, 64)
					h := int64(0)
					for pb.Next() {
						buf = append(buf[:0], keys[stream[i]]...)
						if get(buf) {
							h++
						}
						i = (i + 1) & (len(stream) - 1)
					}
					hits.Add(h)
				})
				b.ReportMetric(float64(hits.Load())/float64(b.N)*100, "%hit")
			})
		}
	}
}
