package main

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/singleflight"
)

// burnCache is a read-through cache that shares one load per key, and
// spends burn of CPU in every Get before it looks: a slower wait path.
type burnCache struct {
	burn  time.Duration
	load  func(context.Context, uint64) (uint64, time.Duration, error)
	group singleflight.Group
	mu    sync.Mutex
	m     map[uint64]uint64
	in    []time.Time // when each Get began
}

func (b *burnCache) Name() string { return "burn" }
func (b *burnCache) Close()       {}
func (b *burnCache) Get(ctx context.Context, k uint64) (uint64, error) {
	t0 := time.Now()
	b.mu.Lock()
	b.in = append(b.in, t0)
	b.mu.Unlock()
	for time.Since(t0) < b.burn {
	}
	b.mu.Lock()
	v, ok := b.m[k]
	b.mu.Unlock()
	if ok {
		return v, nil
	}
	r, err, _ := b.group.Do("k", func() (any, error) {
		v, _, err := b.load(ctx, k)
		if err == nil {
			b.mu.Lock()
			b.m[k] = v
			b.mu.Unlock()
		}
		return v, err
	})
	if err != nil {
		return 0, err
	}
	return r.(uint64), nil
}

// The callers of a burst are released at the same moment. A cache whose
// Get costs more CPU makes the later callers start their calls later; timed
// from its own call, such a caller waited less for the shared load (or came
// after it and hit), so the slower cache reported the lower latency: the
// published ufocache p50 (7.40ms, its last caller in after 8.79ms) was
// below the 10ms loader, where the others' were about 11ms. Timed from the
// release, each caller's latency is at least the time it came in after the
// first one did, so the median latency is at least the median of those,
// whatever the machine's load (from its own call, with 30µs of CPU per Get
// on one core, the median was 30µs against a median arrival of 15ms).
func TestBurstLatencyDoesNotRewardLateCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // the callers queue behind each other's CPU
	for _, burn := range []time.Duration{0, 30 * time.Microsecond} {
		o := &origin{delay: 10 * time.Millisecond}
		c := &burnCache{burn: burn, load: o.load, m: map[uint64]uint64{}}
		b := burstOn(c, 1000, o, false)
		if b.loads != 1 {
			t.Fatalf("burn %v: %d loads", burn, b.loads)
		}
		first := slices.MinFunc(c.in, time.Time.Compare)
		after := make([]int64, len(c.in))
		for i, in := range c.in {
			after[i] = int64(in.Sub(first))
		}
		slices.Sort(after)
		arrived := time.Duration(percentile(after, 0.50))
		t.Logf("burn %v: p50 %v p99 %v, median caller in %v after the first", burn, b.p50, b.p99, arrived)
		if b.p50 < arrived {
			t.Errorf("burn %v: median latency %v, but the median caller came in %v after the first", burn, b.p50, arrived)
		}
		if b.max < b.p99 || b.p99 < b.p50 {
			t.Errorf("burn %v: p50 %v, p99 %v, max %v: want them in order", burn, b.p50, b.p99, b.max)
		}
	}
}

// A cache's bursts sum up to the most loads and errors of any one, and the
// median of each time.
func TestMedianBurstKeepsTheWorstLoads(t *testing.T) {
	ms := time.Millisecond
	got := medianBurst([]burst{
		{loads: 1, errs: 0, p50: 9 * ms, p99: 10 * ms, max: 11 * ms, lastIn: 5 * ms},
		{loads: 2, errs: 3, p50: 1 * ms, p99: 2 * ms, max: 3 * ms, lastIn: 1 * ms},
		{loads: 1, errs: 1, p50: 4 * ms, p99: 5 * ms, max: 6 * ms, lastIn: 9 * ms},
	})
	want := burst{loads: 2, errs: 3, p50: 4 * ms, p99: 5 * ms, max: 6 * ms, lastIn: 5 * ms}
	if got != want {
		t.Errorf("medianBurst = %+v, want %+v", got, want)
	}
}

// A loader that panics: every caller of the burst returns (the panic the
// cache passes on is recovered as that caller's failure, not the harness's
// crash), and each counts as one failed caller.
func TestBurstCountsPanickingCallersAsFailed(t *testing.T) {
	o := &origin{delay: time.Millisecond, panics: true}
	c := &burnCache{load: o.load, m: map[uint64]uint64{}}
	const callers = 50
	b := burstOn(c, callers, o, false)
	if b.errs != callers {
		t.Fatalf("%d of %d callers failed under a panicking loader, want all", b.errs, callers)
	}
	if b.loads < 1 {
		t.Fatalf("%d loads, want at least 1", b.loads)
	}
}

// goneCache starts no load for a caller whose context has ended, as a
// read-through cache may: the leader-leaves burst waited for the leader's
// load to start, and with the leader's deadline set before its goroutine
// ran (a fifth of -quick's 2ms), a late goroutine found it passed and the
// burst waited forever (TestQuickSuite hung once in 15 runs).
type goneCache struct {
	burnCache
	leaderGone atomic.Bool
}

func (g *goneCache) Get(ctx context.Context, k uint64) (uint64, error) {
	if g.leaderGone.CompareAndSwap(false, true) {
		return 0, context.DeadlineExceeded // as if its deadline had passed already
	}
	return g.burnCache.Get(ctx, k)
}

func TestLeaderLeavesBurstEndsWhenTheLeaderStartsNoLoad(t *testing.T) {
	o := &origin{delay: 2 * time.Millisecond}
	c := &goneCache{burnCache: burnCache{load: o.load, m: map[uint64]uint64{}}}
	b := burstOn(c, 20, o, true)
	if b.loads != 1 || b.errs != 0 {
		t.Errorf("loads %d, errors %d among the callers that stayed: want 1 and 0", b.loads, b.errs)
	}
}

// The steady load's row is the run of median gets/s, with the most
// overlaps and errors of any run.
func TestMedianSteadyKeepsTheMedianRun(t *testing.T) {
	got := medianSteady([]steady{
		{getsPerSec: 100, loadsPerSec: 1, overlaps: 5, errs: 0},
		{getsPerSec: 300, loadsPerSec: 3, overlaps: 0, errs: 0},
		{getsPerSec: 200, loadsPerSec: 2, overlaps: 1, errs: 7},
	})
	if want := (steady{getsPerSec: 200, loadsPerSec: 2, overlaps: 5, errs: 7}); got != want {
		t.Errorf("medianSteady = %+v, want %+v", got, want)
	}
}
