package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ufocache/ufocache/perf/readthrough"
	"github.com/ufocache/ufocache/perf/zipf"
)

var errOrigin = errors.New("origin failed")

// origin is a slow backend that counts its calls, and the calls that
// overlapped another call for the same key (a stampede).
type origin struct {
	delay    time.Duration
	fail     bool
	panics   bool // the load panics instead of returning
	calls    atomic.Int64
	overlaps atomic.Int64
	inFlight sync.Map // key -> *atomic.Int32, calls of the key running
	ttl      time.Duration
}

func (o *origin) load(ctx context.Context, k uint64) (uint64, time.Duration, error) {
	o.calls.Add(1)
	n, ok := o.inFlight.Load(k)
	if !ok { // a counter is made only for a key's first call
		n, _ = o.inFlight.LoadOrStore(k, new(atomic.Int32))
	}
	running := n.(*atomic.Int32)
	if running.Add(1) > 1 {
		o.overlaps.Add(1)
	}
	defer running.Add(-1)
	if err := pause(ctx, o.delay); err != nil {
		return 0, 0, err
	}
	if o.panics {
		panic("origin panicked")
	}
	if o.fail {
		return 0, 0, errOrigin
	}
	return k ^ 0xabcdef, o.ttl, nil
}

// pause waits d, or until ctx ends. Its last millisecond is spun (yielding
// the processor): a Go timer of under a millisecond fired after about 1.1ms
// whenever every goroutine was blocked, which is theine's case (its loader
// runs under its shard's lock, and callers queue behind it), so its origin
// was ten times as slow as the others' (load times of 1.09ms against
// 103µs for a 100µs origin).
func pause(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	if d > time.Millisecond {
		t := time.NewTimer(d - time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// burst is 'callers' goroutines asking for one cold key at once.
type burst struct {
	loads         int64
	errs          int
	p50, p99, max time.Duration
	// lastIn is when the last caller made its call, after the release.
	lastIn time.Duration
}

// burstReps is how many bursts each cache runs per scenario.
const burstReps = 3

// medianBurst sums up a cache's bursts: the most loads and errors of any
// (a stampede in one burst is a stampede), the median of each time.
func medianBurst(runs []burst) burst {
	var b burst
	var p50, p99, hi, in []float64
	for _, r := range runs {
		b.loads, b.errs = max(b.loads, r.loads), max(b.errs, r.errs)
		p50, p99 = append(p50, float64(r.p50)), append(p99, float64(r.p99))
		hi, in = append(hi, float64(r.max)), append(in, float64(r.lastIn))
	}
	b.p50, b.p99 = time.Duration(median(p50)), time.Duration(median(p99))
	b.max, b.lastIn = time.Duration(median(hi)), time.Duration(median(in))
	return b
}

// runBurst releases callers together on one cold key. If leaderLeaves, the
// first caller starts alone with a context cancelled after a fifth of the
// loader's delay, and the others join a moment later: the load must survive
// its caller leaving.
func runBurst(name string, callers int, o *origin, leaderLeaves bool) (burst, error) {
	c, err := readthrough.New(name, readthrough.Config{Capacity: 1000}, o.load)
	if err != nil {
		return burst{}, err
	}
	defer c.Close()
	return burstOn(c, callers, o, leaderLeaves), nil
}

// burstOn is runBurst on a cache built over o.load.
func burstOn(c readthrough.Cache, callers int, o *origin, leaderLeaves bool) burst {
	const key = 42
	lat := make([]int64, callers)
	in := make([]time.Time, callers)
	failed := make([]bool, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	// Latency runs from t0: the release for the callers released together,
	// not each one's own call. A caller whose goroutine got to run late
	// (behind the CPU the others spent in Get) waited as long as any; timed
	// from its call it waited less, or came after the load and hit.
	ask := func(i int, ctx context.Context, t0 time.Time) {
		in[i] = time.Now()
		defer func() {
			lat[i] = int64(time.Since(t0))
			if recover() != nil {
				failed[i] = true // the load's panic, passed on to this caller
			}
		}()
		_, err := c.Get(ctx, key)
		failed[i] = err != nil
	}
	first := 0
	if leaderLeaves {
		first = 1
	}
	// The callers' goroutines exist before any call: made after the
	// leader's load had started, they came in 0.3-1.8ms later (10.7ms in a
	// cold burst), against a leader that leaves after 2ms, and whether
	// they joined its load depended on that, not on the cache.
	var released time.Time // set before start is closed
	for i := first; i < callers; i++ {
		wg.Go(func() {
			<-start
			ask(i, context.Background(), released)
		})
	}
	if leaderLeaves {
		// The leader's deadline starts at its call, not before its
		// goroutine runs: started earlier, it could pass before the call
		// (a fifth of -quick's 2ms delay is 400µs), and a cache rightly
		// starts no load for a caller already gone. The others wait for
		// the load to start, or for the leader to have returned without
		// one, whatever the cache did.
		leaderDone := make(chan struct{})
		wg.Go(func() {
			defer close(leaderDone)
			ctx, cancel := context.WithTimeout(context.Background(), o.delay/5)
			defer cancel()
			ask(0, ctx, time.Now())
		})
	wait:
		for o.calls.Load() == 0 {
			select {
			case <-leaderDone:
				break wait
			case <-time.After(50 * time.Microsecond):
			}
		}
	}
	released = time.Now()
	close(start)
	wg.Wait()
	// Only the callers that stayed count for latency and errors.
	stayed := lat[first:]
	slices.Sort(stayed)
	b := burst{loads: o.calls.Load()}
	for _, f := range failed[first:] {
		if f {
			b.errs++
		}
	}
	b.p50 = time.Duration(percentile(stayed, 0.50))
	b.p99 = time.Duration(percentile(stayed, 0.99))
	b.max = time.Duration(stayed[len(stayed)-1])
	for _, t := range in[first:] {
		b.lastIn = max(b.lastIn, t.Sub(released))
	}
	return b
}

// steadyReps is how many interleaved runs of the steady load each cache
// makes.
const steadyReps = 3

// medianSteady returns the run of median gets/s, with the most overlaps and
// errors of any run.
func medianSteady(runs []steady) steady {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b steady) int { return cmp.Compare(a.getsPerSec, b.getsPerSec) })
	m := sorted[len(sorted)/2]
	for _, r := range runs {
		m.overlaps, m.errs = max(m.overlaps, r.overlaps), max(m.errs, r.errs)
	}
	return m
}

// steady is read-through under a steady Zipf load with short TTLs.
type steady struct {
	getsPerSec, loadsPerSec float64
	overlaps, errs          int64
}

func runSteady(name string, goroutines int, keys []uint64, o *origin, capacity int, ttl, d time.Duration) (steady, error) {
	c, err := readthrough.New(name, readthrough.Config{Capacity: capacity, TTL: ttl}, o.load)
	if err != nil {
		return steady{}, err
	}
	defer c.Close()
	var stop atomic.Bool
	var gets, errs atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range goroutines {
		wg.Go(func() {
			ctx := context.Background()
			i, n := g*len(keys)/goroutines, int64(0)
			for !stop.Load() {
				if _, err := c.Get(ctx, keys[i]); err != nil {
					errs.Add(1)
				}
				n++
				if i++; i == len(keys) {
					i = 0
				}
			}
			gets.Add(n)
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(t0).Seconds()
	return steady{getsPerSec: float64(gets.Load()) / el, loadsPerSec: float64(o.calls.Load()) / el, overlaps: o.overlaps.Load(), errs: errs.Load()}, nil
}

func runStampede(cfg *config) (*report, error) {
	names := cfg.selected(readthrough.Names)
	callers, delay := 1000, 10*time.Millisecond
	steadyDur, steadyG := 2*time.Second, 64
	if cfg.quick {
		callers, delay, steadyDur, steadyG = 100, 2*time.Millisecond, 100*time.Millisecond, 8
	}
	r := &report{title: "Stampede and read-through"}
	r.add("Read-through caches: ufocache RTCache, otter v2 `Get(ctx, key, loader)`, theine's loading cache, and "+
		"golang.org/x/sync/singleflight over golang-lru/expirable (the cache re-checked inside the flight). "+
		"%d goroutines ask for one cold key at the same moment; the loader takes %s. Latency is per caller, from the "+
		"moment they were released to its return (not from its own call, which a caller comes to later when the others' "+
		"Gets keep the CPUs busy).", callers, delay)
	var missing []string
	scenarios := []struct {
		title                string
		fail, panics, leaves bool
	}{
		{"slow loader", false, false, false},
		{"slow loader that fails", true, false, false},
		{"slow loader that panics", false, true, false},
		{"the first caller leaves (its context ends at a fifth of the load); the others arrive after it", false, false, true},
	}
	headRows := map[string][]string{}
	for _, sc := range scenarios {
		t := newTable("cache", "loads", "errors", "p50", "p99", "max", "last caller in after")
		// Every cache runs burstReps bursts, interleaved (A, B, C, then
		// again), so that none pays alone for the runtime's warm-up (the
		// first 1000 goroutines of the process grow their stacks and the
		// heap): the first cache's last caller came in after 9.7ms in its
		// first burst and 3.9-4.5ms in the next ones.
		runs := map[string][]burst{}
		for range burstReps {
			for _, name := range names {
				if slices.Contains(missing, name) {
					continue
				}
				b, err := runBurst(name, callers, &origin{delay: delay, fail: sc.fail, panics: sc.panics}, sc.leaves)
				if err != nil {
					missing = append(missing, name)
					fmt.Fprintf(os.Stderr, "perf: stampede: %s skipped: %v\n", name, err)
					continue
				}
				runs[name] = append(runs[name], b)
			}
		}
		for _, name := range names {
			if len(runs[name]) == 0 {
				t.row(name, "not built", "", "", "", "", "")
				continue
			}
			b := medianBurst(runs[name])
			t.row(name, fmt.Sprint(b.loads), fmt.Sprint(b.errs), dur(b.p50), dur(b.p99), dur(b.max), dur(b.lastIn))
			headRows[name] = append(headRows[name], fmt.Sprintf("%d / %d", b.loads, b.errs))
		}
		t.note("Each cache ran %d bursts, interleaved with the others'; loads and errors are the most of any burst, "+
			"the times their medians. \"Last caller in after\": when the last goroutine made its call, after all were released. A caller that "+
			"comes in after the load has finished hits the cache (or, after a failed load, starts a new one): "+
			"the number of loads depends on it.", burstReps)
		if sc.leaves {
			t.note("Errors count the %d callers that stayed; loads count every call of the loader, the one the leaver "+
				"started included (it may be cancelled with it, and then the others must load again or get its error).", callers-1)
		}
		r.add("## %s\n\n%s", sc.title, t)
	}

	// Steady Zipf load with short TTLs.
	const nKeys, capacity = 100_000, 10_000
	ttl, loadDelay := 50*time.Millisecond, 100*time.Microsecond
	keys := zipf.Keys(zipf.New(nKeys, 1.01), 1<<20, 7)
	st := newTable("cache", "gets/s", "origin calls/s", "calls overlapping another of the same key", "errors")
	// Interleaved runs too, the median kept: one run per cache in a row
	// moved with what ran before it (singleflight+golang-lru 0.57M, 0.63M
	// and 1.40M gets/s in runs of the same build).
	steadyRuns := map[string][]steady{}
	for range steadyReps {
		for _, name := range names {
			if slices.Contains(missing, name) {
				continue
			}
			s, err := runSteady(name, steadyG, keys, &origin{delay: loadDelay, ttl: ttl}, capacity, ttl, steadyDur)
			if err != nil {
				return nil, err
			}
			steadyRuns[name] = append(steadyRuns[name], s)
		}
	}
	for _, name := range names {
		if len(steadyRuns[name]) == 0 {
			st.row(name, "not built", "", "", "")
			continue
		}
		s := medianSteady(steadyRuns[name])
		st.row(name, fmt.Sprintf("%.0f", s.getsPerSec), fmt.Sprintf("%.0f", s.loadsPerSec),
			fmt.Sprint(s.overlaps), fmt.Sprint(s.errs))
		headRows[name] = append(headRows[name], fmt.Sprintf("%.0f", s.getsPerSec), fmt.Sprintf("%.0f", s.loadsPerSec))
	}
	r.add("## Steady load, short TTLs\n\n%d goroutines for %s over Zipf 1.01 keys (%d keys, capacity %d), every entry "+
		"living %s, loader %s. Origin calls rise with gets/s (a cache that serves more gets reaches more keys whose entry "+
		"expired), so their ratio ranks throughput, not loading; calls that overlapped another call of the same key are the "+
		"stampedes (0: every concurrent miss of a key shared one load). gets/s is bounded by the goroutines waiting on loads. "+
		"Each cache ran %d times, interleaved with the others; the row is its run of median gets/s, and the overlaps and "+
		"errors the most of any run.\n\n%s",
		steadyG, steadyDur, nKeys, capacity, ttl, loadDelay, steadyReps, st)
	if len(missing) > 0 {
		r.add("Not built: %v.", missing)
	}
	h := newTable("cache", "slow: loads / errors", "failing: loads / errors", "panicking: loads / errors",
		"leader leaves: loads / errors", "steady gets/s", "steady origin calls/s")
	for _, name := range names {
		row := append([]string{name}, headRows[name]...)
		for len(row) < len(h.head) {
			row = append(row, "–")
		}
		h.row(row...)
	}
	h.note("%d callers on one cold key, loader %s; errors: the callers that got one (all of them where the load "+
		"fails or panics; the %d that stayed where the leader leaves). %s runs the shared load with the first caller's ctx, "+
		"as a closure passed to singleflight.Do usually does: when that caller leaves, the others get its error "+
		"(passing context.WithoutCancel(ctx) instead would spare them).", callers, delay, callers-1, readthrough.Singleflight)
	r.headline = []string{h.String()}
	return r, nil
}
