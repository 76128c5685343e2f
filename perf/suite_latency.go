package main

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
)

// sampleShift: every 1<<sampleShift-th Get is timed, so that reading the
// clock costs little of the load.
const sampleShift = 5

// latencyRun drives c like drive, with goroutines walking ops, and times
// every 32nd Get; it returns the sorted sample durations in nanoseconds.
func latencyRun(c peers.Cache[uint64, uint64], ops []uint64, goroutines int, d time.Duration) []int64 {
	per := make([][]int64, goroutines)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			samples := make([]int64, 0, 1<<16)
			i, n := g*len(ops)/goroutines, 0
			for !stop.Load() {
				for range 1024 {
					k := ops[i]
					switch {
					case k&writeBit != 0:
						c.Set(k&^writeBit, k)
					case n&(1<<sampleShift-1) == 0:
						t0 := time.Now()
						c.Get(k)
						samples = append(samples, int64(time.Since(t0)))
					default:
						c.Get(k)
					}
					n++
					if i++; i == len(ops) {
						i = 0
					}
				}
			}
			per[g] = samples
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	all := slices.Concat(per...)
	slices.Sort(all)
	return all
}

// clockCost is the median time of an empty timed region: the floor under
// every latency sample.
func clockCost() time.Duration {
	xs := make([]int64, 10000)
	for i := range xs {
		t0 := time.Now()
		xs[i] = int64(time.Since(t0))
	}
	slices.Sort(xs)
	return time.Duration(percentile(xs, 0.5))
}

func runLatency(cfg *config) (*report, error) {
	caches := cfg.selected(peers.All())
	p := slices.Max(cfg.cpus)
	d := 4 * cfg.duration
	w := workload{keys: 1_000_000, capacity: 65_536, s: 1.01}
	n := 1 << 21
	if cfg.quick {
		w, n = workload{keys: 50_000, capacity: 4096, s: 1.01}, 1<<15
	}
	prev := runtime.GOMAXPROCS(p)
	defer runtime.GOMAXPROCS(prev)
	r := &report{title: "Get latency under load"}
	r.add("%d goroutines (GOMAXPROCS=%d) walk a precomputed Zipf %.2f stream over %d keys against a prefilled cache of %d "+
		"entries for %s; every %dth Get of each goroutine is timed with time.Now/time.Since. Reading the clock itself costs "+
		"about %s here (median of an empty timed region), which is a floor under every number. Includes the Gets that miss.",
		p, p, w.s, w.keys, w.capacity, d, 1<<sampleShift, dur(clockCost()))
	var head []string
	for _, mix := range []int{100, 90} {
		ops := w.opStream(n, mix, 11)
		t := newTable("cache", "samples", "p50", "p99", "p99.9", "max")
		for _, name := range caches {
			c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(w.capacity)})
			w.prefill(c)
			runtime.GC()
			s := latencyRun(c, ops, p, d)
			c.Close()
			if len(s) == 0 {
				continue
			}
			row := []string{
				name, fmt.Sprint(len(s)), dur(time.Duration(percentile(s, 0.5))),
				dur(time.Duration(percentile(s, 0.99))), dur(time.Duration(percentile(s, 0.999))), dur(time.Duration(s[len(s)-1])),
			}
			t.row(row...)
			if mix == 90 {
				head = append(head, fmt.Sprintf("| %s | %s | %s | %s |", name, row[2], row[3], row[4]))
			}
		}
		r.add("## %d%% reads, %d%% writes\n\n%s", mix, 100-mix, t)
	}
	r.headline = append([]string{
		"90% reads, 10% writes, GOMAXPROCS=" + fmt.Sprint(p) + ":", "",
		"| cache | p50 | p99 | p99.9 |", "|---|---:|---:|---:|",
	}, head...)
	return r, nil
}
