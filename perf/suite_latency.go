package main

import (
	"fmt"
	"math/rand/v2"
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

// maxLatencySamples bounds the samples each goroutine keeps. Its buffer is
// allocated before the run: grown by append, the samples of a fast cache
// made the harness allocate (about five times their size) and run GC cycles
// under its timed Gets, while a slow cache's run allocated nothing.
const maxLatencySamples = 1 << 18

// latencyResult is one latency run: a uniform sample of the timed Gets,
// sorted, with their exact count and maximum.
type latencyResult struct {
	sorted []int64
	timed  int
	max    int64
}

// latencyRun drives c like drive, with goroutines walking ops, and times
// every 32nd Get. Each goroutine keeps at most maxLatencySamples durations
// (in nanoseconds), a uniform reservoir sample of its timed Gets once it
// has timed more.
func latencyRun(c peers.Cache[uint64, uint64], ops []uint64, goroutines int, d time.Duration) latencyResult {
	per := make([][]int64, goroutines)
	timed := make([]int, goroutines)
	hi := make([]int64, goroutines)
	for g := range per {
		per[g] = make([]int64, 0, maxLatencySamples)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			samples, seen, top := per[g], 0, int64(0)
			rng := rand.New(rand.NewPCG(uint64(g), 0x1a7))
			i, n := g*len(ops)/goroutines, 0
			for !stop.Load() {
				for range 1024 {
					k := ops[i]
					switch {
					case k&writeBit != 0:
						c.Set(k&^writeBit, k)
					case n&(1<<sampleShift-1) == 0: // n counts Gets
						t0 := time.Now()
						c.Get(k)
						lat := int64(time.Since(t0))
						n++
						seen++
						top = max(top, lat)
						samples = reservoir(samples, lat, seen, rng)
					default:
						c.Get(k)
						n++
					}
					if i++; i == len(ops) {
						i = 0
					}
				}
			}
			per[g], timed[g], hi[g] = samples, seen, top
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	r := latencyResult{sorted: slices.Concat(per...)}
	slices.Sort(r.sorted)
	for g := range goroutines {
		r.timed += timed[g]
		r.max = max(r.max, hi[g])
	}
	return r
}

// maxSetSamples bounds the Set latencies setTailRun keeps (a uniform
// sample of them beyond), in a buffer allocated before the run.
const maxSetSamples = 1 << 22

// setTailRun times each Set of new keys (first, first+1, ...) made by one
// goroutine into c, for d, or for n Sets if n > 0.
func setTailRun(c peers.Cache[uint64, uint64], first uint64, n int, d time.Duration) latencyResult {
	samples := make([]int64, 0, maxSetSamples)
	rng := rand.New(rand.NewPCG(first, 0x5e7))
	var r latencyResult
	var stop atomic.Bool
	if n <= 0 {
		timer := time.AfterFunc(d, func() { stop.Store(true) })
		defer timer.Stop()
	}
	for k := first; !stop.Load() && (n <= 0 || r.timed < n); k++ {
		t0 := time.Now()
		c.Set(k, k)
		lat := int64(time.Since(t0))
		r.timed++
		r.max = max(r.max, lat)
		samples = reservoir(samples, lat, r.timed, rng)
	}
	slices.Sort(samples)
	r.sorted = samples
	return r
}

// reservoir adds lat, the seen-th duration timed, to samples, a uniform
// sample of them all that holds at most cap(samples) and never allocates.
func reservoir(samples []int64, lat int64, seen int, rng *rand.Rand) []int64 {
	if len(samples) < cap(samples) {
		return append(samples, lat)
	}
	if j := rng.IntN(seen); j < len(samples) {
		samples[j] = lat
	}
	return samples
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

// getCols are the columns of the Get latency tables, and setCols those of
// the Set tables: the operations timed, percentiles of their sample, and
// the slowest of them all. They stand beside getRow and setRow, which fill
// them, so that a test finds each cell by its heading.
var (
	getCols = []string{"cache", "samples", "p50", "p99", "p99.9", "max"}
	setCols = []string{"cache", "Sets", "p50", "p99", "p99.9", "p99.99", "max"}
)

// getRow is the row of getCols for the run lr of cache name.
func getRow(name string, lr latencyResult) []string {
	return latencyRow(name, lr, 0.5, 0.99, 0.999)
}

// setRow is the row of setCols for the run lr of cache name.
func setRow(name string, lr latencyResult) []string {
	return latencyRow(name, lr, 0.5, 0.99, 0.999, 0.9999)
}

// latencyRow is name, the count of operations lr timed, the q-quantile of
// its sample for each q of qs, and its max.
func latencyRow(name string, lr latencyResult, qs ...float64) []string {
	row := []string{name, fmt.Sprint(lr.timed)}
	for _, q := range qs {
		row = append(row, dur(time.Duration(percentile(lr.sorted, q))))
	}
	return append(row, dur(time.Duration(lr.max)))
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
	r := &report{title: "Get and Set latency"}
	floor := dur(clockCost())
	r.add("%d goroutines (GOMAXPROCS=%d) walk a precomputed Zipf %.2f stream over %d keys against a prefilled cache of %d "+
		"entries for %s; every %d-th Get of each goroutine is timed with time.Now/time.Since. Reading the clock itself costs "+
		"about %s here (median of an empty timed region), which is a floor under every number. Includes the Gets that miss. "+
		"\"samples\" counts the timed Gets; the percentiles come from a uniform sample of at most %d of them per goroutine, "+
		"kept in buffers allocated before the run (the harness allocates nothing while it times), and max from all of them.",
		p, p, w.s, w.keys, w.capacity, d, 1<<sampleShift, floor, maxLatencySamples)
	var head []string
	for _, mix := range []int{100, 90} {
		ops := w.opStream(n, mix, 11)
		t := newTable(getCols...)
		for _, name := range caches {
			c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(w.capacity)})
			w.prefill(c)
			runtime.GC()
			lr := latencyRun(c, ops, p, d)
			c.Close()
			if len(lr.sorted) == 0 {
				continue
			}
			row := getRow(name, lr)
			t.row(row...)
			if mix == 90 {
				head = append(head, fmt.Sprintf("| %s | %s | %s | %s |", name, row[2], row[3], row[4]))
			}
		}
		r.add("## %d%% reads, %d%% writes\n\n%s", mix, 100-mix, t)
	}
	r.headline = append([]string{
		"Get latency while 10% of the requests are Sets (the Gets of the 90% reads, 10% writes mix; one Get in " +
			fmt.Sprint(1<<sampleShift) + " timed, the Sets not), GOMAXPROCS=" + fmt.Sprint(p) +
			"; one run per cache, and the clock's own cost (" + floor + ") is a floor under every number:", "",
		"| cache | p50 | p99 | p99.9 |", "|---|---:|---:|---:|",
	}, head...)
	r.headline = append(r.headline, setTail(cfg, r, caches, d, newPeer)...)
	return r, nil
}

// setTail adds the Set latency sections to r and returns their headline:
// one goroutine stores new keys into a full cache (each Set evicts one),
// and into an empty one until it is full. The slowest Sets are a cache's
// upkeep (a rehash, a resize, a buffer drained) and the collector.
// newCache makes each cache (newPeer; a test passes caches that count
// their evictions).
func setTail(cfg *config, r *report, caches []string, d time.Duration, newCache func(name string, capacity int) peers.Cache[uint64, uint64]) []string {
	full, fill := 65_536, 1<<20
	if cfg.quick {
		full, fill = 4096, 1<<14
	}
	r.add("## Sets of new keys\n\nOne goroutine times each of its Sets of keys never stored before: into a full cache of %d entries "+
		"(prefilled, then Sets for %s, each evicting one), and into an empty cache of %d entries until it holds them all. "+
		"Percentiles from all the Sets (a uniform sample of %d if there are more). The slowest Sets are each cache's upkeep "+
		"(rehashing or resizing its table, draining a buffer) and the collector. xsync-mapof and sync-map are unbounded maps: "+
		"they evict nothing and grow with every key, full or not. ristretto applies Sets through a buffer that drops them "+
		"when full: its Sets are timed at the buffer.", full, d, fill, maxSetSamples)
	head := []string{"", fmt.Sprintf("Sets of new keys, one goroutine: p99.99 and max into a full cache of %d entries, and into an empty one of %d until full:", full, fill), "",
		"| cache | full p99.99 | full max | filling p99.99 | filling max |", "|---|---:|---:|---:|---:|"}
	tFull, tFill := newTable(setCols...), newTable(setCols...)
	for _, name := range caches {
		c := newCache(name, full)
		for k := range uint64(full) {
			c.Set(k, k)
			waitEvery(c, int(k))
		}
		if wt, ok := c.(peers.Waiter); ok {
			wt.Wait()
		}
		runtime.GC()
		a := setTailRun(c, uint64(full), 0, d)
		c.Close()
		c = newCache(name, fill)
		runtime.GC()
		b := setTailRun(c, 0, fill, 0)
		c.Close()
		ra, rb := setRow(name, a), setRow(name, b)
		tFull.row(ra...)
		tFill.row(rb...)
		head = append(head, fmt.Sprintf("| %s | %s | %s | %s | %s |", name, ra[5], ra[6], rb[5], rb[6]))
	}
	r.add("### Into a full cache of %d entries\n\n%s", full, tFull)
	r.add("### Into an empty cache of %d entries, until full\n\n%s", fill, tFill)
	return head
}

// newPeer makes the cache name with room for capacity uint64 entries.
func newPeer(name string, capacity int) peers.Cache[uint64, uint64] {
	return peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(capacity)})
}
