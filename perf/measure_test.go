package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/readthrough"
)

// Tests a mutation review of the throughput, memory, latency and stampede
// suites found missing. Every expected value is worked out by hand in the
// comments; none is copied from a run.

// firstGetsCache records each goroutine's first Get: the first g Gets block
// until g of them have arrived, so they come from g different goroutines.
type firstGetsCache struct {
	nopCache
	g       int
	mu      sync.Mutex
	first   []uint64
	arrived chan struct{}
}

func (c *firstGetsCache) Get(k uint64) (uint64, bool) {
	c.mu.Lock()
	if len(c.first) >= c.g {
		c.mu.Unlock()
		return 0, false
	}
	c.first = append(c.first, k)
	if len(c.first) == c.g {
		close(c.arrived)
	}
	c.mu.Unlock()
	<-c.arrived
	return 0, false
}

// drive's goroutine g starts at offset g*len(ops)/goroutines: over a stream
// of the reads 0..4095, four goroutines start at 0, 1024, 2048 and 3072, not
// all at the same key.
func TestDriveStartsEachGoroutineAtItsOffset(t *testing.T) {
	ops := make([]uint64, 4096)
	for i := range ops {
		ops[i] = uint64(i)
	}
	c := &firstGetsCache{g: 4, arrived: make(chan struct{})}
	drive(c, ops, 4, time.Millisecond)
	slices.Sort(c.first)
	if want := []uint64{0, 1024, 2048, 3072}; !slices.Equal(c.first, want) {
		t.Errorf("the goroutines' first keys %v, want %v", c.first, want)
	}
}

// recordingCache keeps the first 2048 keys it is asked for.
type recordingCache struct {
	nopCache
	mu   sync.Mutex
	keys []uint64
}

func (c *recordingCache) Get(k uint64) (uint64, bool) {
	c.mu.Lock()
	if len(c.keys) < 2048 {
		c.keys = append(c.keys, k)
	}
	c.mu.Unlock()
	return 0, false
}

// One goroutine walks a stream of 1000 reads circularly: its first 1024 Gets
// are keys 0..999 then 0..23, every key of the stream included.
func TestDriveWalksTheStreamCircularly(t *testing.T) {
	ops := make([]uint64, 1000)
	for i := range ops {
		ops[i] = uint64(i)
	}
	c := &recordingCache{}
	drive(c, ops, 1, time.Millisecond)
	if len(c.keys) < 1024 {
		t.Fatalf("%d Gets, want at least one round of 1024", len(c.keys))
	}
	for i, k := range c.keys[:1024] {
		if k != uint64(i%1000) {
			t.Fatalf("Get %d was of key %d, want %d", i, k, i%1000)
		}
	}
}

// decliningAllCache stores nothing and counts, from any goroutine, the Gets
// and Sets it was asked for.
type decliningAllCache struct {
	nopCache
	gets, sets atomic.Int64
}

func (c *decliningAllCache) Get(uint64) (uint64, bool) { c.gets.Add(1); return 0, false }
func (c *decliningAllCache) Set(uint64, uint64) bool   { c.sets.Add(1); return false }

// drive sums every goroutine's counts: with three goroutines against a cache
// that declines every Set, the Sets it reports are the Sets the cache saw,
// and every one of them stored nothing. Its operations per second are the
// operations the cache saw over a time between d and the call's duration.
func TestDriveSumsEveryGoroutine(t *testing.T) {
	ops := workload{keys: 1000, capacity: 100, s: 1.01}.opStream(1<<12, 50, 1)
	c := &decliningAllCache{}
	const d = 20 * time.Millisecond
	start := time.Now()
	perSec, sets, unstored := drive(c, ops, 3, d)
	wall := time.Since(start)
	if sets != c.sets.Load() || unstored != sets {
		t.Errorf("%d Sets counted, %d storing nothing; the cache saw %d Sets and declined them all", sets, unstored, c.sets.Load())
	}
	total := float64(c.gets.Load() + c.sets.Load())
	if total == 0 || perSec < total/wall.Seconds() || perSec > total/d.Seconds() {
		t.Errorf("%.0f ops/s; the cache saw %.0f operations in at least %v and at most %v (%.0f to %.0f ops/s)",
			perSec, total, d, wall, total/wall.Seconds(), total/d.Seconds())
	}
}

// slowKeyCache spins for spin in every Get of key.
type slowKeyCache struct {
	nopCache
	key  uint64
	spin time.Duration
}

func (c *slowKeyCache) Get(k uint64) (uint64, bool) {
	if k == c.key {
		for t0 := time.Now(); time.Since(t0) < c.spin; {
		}
	}
	return 0, false
}

// While no goroutine times more Gets than its buffer holds, latencyRun keeps
// every timed Get of every goroutine: as many samples as timed Gets, the
// slowest of them its max. The stream is the reads of keys 1..65534, key 1
// (at offset 0) slow. Goroutine 0 starts there: its first Get, timed, is
// slow. Goroutine 1 starts at 32767 and comes to key 1 at its Gets 32767,
// 32767+65534, ..., all odd, none timed (one in 32 is, from the 0th). So
// the slowest sample is goroutine 0's, not the last goroutine's.
func TestLatencyRunKeepsEveryGoroutinesSamples(t *testing.T) {
	ops := make([]uint64, 2*32767)
	for i := range ops {
		ops[i] = uint64(i) + 1
	}
	c := &slowKeyCache{key: 1, spin: 5 * time.Millisecond}
	r := latencyRun(c, ops, 2, 20*time.Millisecond)
	if r.timed == 0 || r.timed > maxLatencySamples {
		t.Skipf("%d timed Gets: outside what this test can check", r.timed)
	}
	if len(r.sorted) != r.timed {
		t.Errorf("%d samples kept of %d timed Gets, none over a buffer of %d", len(r.sorted), r.timed, maxLatencySamples)
	}
	if len(r.sorted) > 0 && r.max != r.sorted[len(r.sorted)-1] {
		t.Errorf("max %v, the slowest of all the samples %v", time.Duration(r.max), time.Duration(r.sorted[len(r.sorted)-1]))
	}
}

// origin counts a call as a stampede only when another call of the same key
// is running: none for calls one after another, one for a call made while
// a call of its key is in flight, none for another key's call.
func TestOriginCountsOnlyOverlappingCalls(t *testing.T) {
	ctx := context.Background()
	o := &origin{}
	for range 3 {
		if _, _, err := o.load(ctx, 5); err != nil {
			t.Fatal(err)
		}
	}
	if o.calls.Load() != 3 || o.overlaps.Load() != 0 {
		t.Fatalf("3 calls one after another: %d calls, %d overlaps; want 3 and 0", o.calls.Load(), o.overlaps.Load())
	}

	o = &origin{delay: time.Hour}
	held, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, _, err := o.load(held, 5); done <- err }()
	for { // until the held call is running
		if n, ok := o.inFlight.Load(uint64(5)); ok && n.(*atomic.Int32).Load() == 1 {
			break
		}
		runtime.Gosched()
	}
	gone, stop := context.WithCancel(ctx)
	stop() // these calls return at once
	o.load(gone, 6)
	if got := o.overlaps.Load(); got != 0 {
		t.Errorf("a call of key 6 while key 5 loads: %d overlaps, want 0", got)
	}
	o.load(gone, 5)
	if got := o.overlaps.Load(); got != 1 {
		t.Errorf("a call of key 5 while key 5 loads: %d overlaps, want 1", got)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("held call: %v", err)
	}
	o.load(gone, 5)
	if got := o.overlaps.Load(); got != 1 {
		t.Errorf("a call of key 5 after the others returned: %d overlaps, want still 1", got)
	}
}

// The origin's pause lasts its delay, on the timer path (over 1ms) and the
// spinning one, and ends early only for a context that ends.
func TestPauseLastsItsDelay(t *testing.T) {
	for _, d := range []time.Duration{300 * time.Microsecond, 3 * time.Millisecond} {
		start := time.Now()
		if err := pause(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < d {
			t.Errorf("pause(%v) returned after %v", d, took)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := pause(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("pause with an ended context: %v", err)
	}
}

// Latency counts only the callers that stayed: of two callers whose leader
// leaves at once (goneCache), the one that stays waits for a whole load,
// from its release, so the burst's p50 and max are at least the delay.
func TestLeaderLeavesLatencyIsTheStayersOnly(t *testing.T) {
	o := &origin{delay: 2 * time.Millisecond}
	c := &goneCache{burnCache: burnCache{load: o.load, m: map[uint64]uint64{}}}
	b := burstOn(c, 2, o, true)
	if b.p50 < o.delay || b.max < o.delay || b.errs != 0 {
		t.Errorf("p50 %v, max %v, errors %d; the one caller that stayed waited for a load of %v", b.p50, b.max, b.errs, o.delay)
	}
}

// The steady run reports Gets and origin calls apart: one key, stored on its
// first load and never expiring, is loaded once whatever the Gets, and no
// Get fails.
func TestSteadyCountsGetsAndLoadsApart(t *testing.T) {
	o := &origin{}
	s, err := runSteady(readthrough.Singleflight, 2, []uint64{5, 5, 5, 5}, o, 10, 0, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if o.calls.Load() != 1 {
		t.Fatalf("%d origin calls for one key that never expires, want 1", o.calls.Load())
	}
	if s.errs != 0 || s.overlaps != 0 || !(s.getsPerSec > s.loadsPerSec) || s.loadsPerSec <= 0 {
		t.Errorf("%+v: want no error, no overlap, and more Gets than the one load", s)
	}
}

// section returns the report section that begins with prefix.
func section(t *testing.T, r *report, prefix string) string {
	t.Helper()
	for _, s := range r.sections {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	t.Fatalf("no section begins with %q", prefix)
	return ""
}

// throughputReport's tables, on medians chosen so that every cell tells its
// column: GOMAXPROCS 1 and 4, 100% and 50% reads.
//
//	GOMAXPROCS=4   ufocache  xsync-mapof  otter-v2
//	100% reads       30          20          15
//	 50% reads       12          16           8
//	GOMAXPROCS=1
//	100% reads        9          10           6
//	 50% reads        3           4           2
//
// Ratios at 4: ufocache 30/20 = 1.50, 30/15 = 2.00; 12/16 = 0.75, 12/8 =
// 1.50; otter-v2 15/20 = 0.75, 15/15 = 1.00; 8/16 = 0.50, 8/8 = 1.00. At 1:
// ufocache 9/10 = 0.90, 9/6 = 1.50; 3/4 = 0.75, 3/2 = 1.50. Sets that stored
// nothing at 50% reads: otter-v2 25% at 4 (50% at 1), ufocache 0 (12.5%).
func TestThroughputReportColumns(t *testing.T) {
	const u, x, o = peers.Ufocache, peers.XsyncMapOf, peers.OtterV2
	cfg := &config{cpus: []int{1, 4}, reps: 3, duration: 200 * time.Millisecond}
	configs := []tpConfig{{"cfg a", workload{keys: 100, capacity: 10, s: 1.01}, []int{100, 50}, 1024}}
	medians := map[tpKey]map[string]float64{
		{"cfg a", 100, 4}: {u: 30e6, x: 20e6, o: 15e6},
		{"cfg a", 50, 4}:  {u: 12e6, x: 16e6, o: 8e6},
		{"cfg a", 100, 1}: {u: 9e6, x: 10e6, o: 6e6},
		{"cfg a", 50, 1}:  {u: 3e6, x: 4e6, o: 2e6},
	}
	unstored := map[tpKey]map[string]float64{
		{"cfg a", 50, 4}: {u: 0, x: 0, o: 0.25},
		{"cfg a", 50, 1}: {u: 0.125, x: 0, o: 0.5},
	}
	r := throughputReport(cfg, configs, []string{u, x, o}, medians, unstored)

	for prefix, rows := range map[string][]string{
		"### GOMAXPROCS=4: Mops/s":           {"| ufocache | 30.0 | 12.0 |", "| otter-v2 | 15.0 | 8.0 |"},
		"### GOMAXPROCS=1: Mops/s":           {"| ufocache | 9.0 | 3.0 |"},
		"### GOMAXPROCS=4: ratio":            {"| ufocache | 1.50× / 2.00× | 0.75× / 1.50× |", "| otter-v2 | 0.75× / 1.00× | 0.50× / 1.00× |"},
		"### GOMAXPROCS=1: ratio":            {"| ufocache | 0.90× / 1.50× | 0.75× / 1.50× |"},
		"### GOMAXPROCS=4: Sets that stored": {"| cache | 50% reads |\n", "| otter-v2 | 25.0 |", "| ufocache | 0.0 |"},
	} {
		s := section(t, r, prefix)
		for _, row := range rows {
			if !strings.Contains(s, row) {
				t.Errorf("%q lacks %q:\n%s", prefix, row, s)
			}
		}
	}
	h := strings.Join(r.headline, "\n")
	for _, want := range []string{
		"| configuration (GOMAXPROCS=4) | ufocache | xsync-mapof | otter-v2 |",
		"| cfg a, 100% reads | 30.0 | 20.0 | 15.0 |",
		"| cfg a, 50% reads | 12.0 | 16.0 | 8.0 |",
		"ufocache, cfg a: 100%: 1.50× of xsync-mapof, 2.00× of otter-v2; 50%: 0.75× of xsync-mapof, 1.50× of otter-v2.",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
	// Charts in Mops/s: the mix at each GOMAXPROCS, and GOMAXPROCS on the
	// first mix (100% reads).
	series := func(file, name string) string {
		for _, c := range r.charts {
			if c.file != file {
				continue
			}
			for _, s := range c.series {
				if s.name == name {
					return fmt.Sprint(s.xs, s.ys)
				}
			}
		}
		return "none"
	}
	for _, c := range []struct{ file, want string }{
		{"throughput-mix-cpu4.svg", "[100 50] [30 12]"},
		{"throughput-mix-cpu1.svg", "[100 50] [9 3]"},
		{"throughput-cpu-cfg-a.svg", "[1 4] [9 30]"},
	} {
		if got := series(c.file, u); got != c.want {
			t.Errorf("%s: ufocache's series %s, want %s", c.file, got, c.want)
		}
	}
}

// A cache whose Sets all store (xsync-mapof's Set always does) shows 0.0% of
// Sets that stored nothing in every mix with writes.
func TestThroughputUnstoredShareOfAStoringCache(t *testing.T) {
	cfg := &config{quick: true, cpus: []int{1}, reps: 1, duration: 2 * time.Millisecond, caches: []string{peers.XsyncMapOf}}
	r, err := runThroughput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := section(t, r, "### GOMAXPROCS=1: Sets that stored nothing")
	if want := "| xsync-mapof | 0.0 | 0.0 | 0.0 | 0.0 |"; !strings.Contains(s, want) {
		t.Errorf("lacks %q:\n%s", want, s)
	}
}

// The memory suite subtracts the heap measured before the cache was made:
// 64 MiB held by the caller through the measurement is not the cache's.
// A cache that stores uint64→uint64 holds at least its 16 bytes per entry,
// and one storing 64-byte values at least those; 64 MiB spread over 20,000
// or 4,000 entries would be 3.3 KB or 16.8 KB each.
func TestMemorySubtractsTheBaseline(t *testing.T) {
	ballast := make([]byte, 64<<20)
	keys := memKeys(20_000)
	m := measureMemory(peers.Ufocache, keys, len(keys), func(k uint64) uint64 { return k })
	fill, again := measureRewrites(peers.Ufocache, keys[:4000])
	runtime.KeepAlive(ballast)
	if m.perEntry < 16 || m.perEntry > 2048 {
		t.Errorf("uint64→uint64: %.0f B per entry, want from 16 to 2048", m.perEntry)
	}
	if fill < rewriteValue || fill > 4096 || again < rewriteValue || again > 4096 {
		t.Errorf("rewrites: %.0f and %.0f B per entry, want from %d to 4096", fill, again, rewriteValue)
	}
}

// leadingNumber is the number a memory cell begins with.
func leadingNumber(t *testing.T, cell string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.Fields(cell)[0], 64)
	if err != nil {
		t.Fatalf("cell %q: %v", cell, err)
	}
	return f
}

// cells returns the cells of the row of name in a Markdown table.
func cells(t *testing.T, table, name string) []string {
	t.Helper()
	i := strings.Index(table, "| "+name+" |")
	if i < 0 {
		t.Fatalf("no row %s in:\n%s", name, table)
	}
	row := table[i:]
	row = row[:strings.Index(row, "\n")]
	var out []string
	for _, c := range strings.Split(strings.Trim(row, "|"), "|") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// Each key type has its own measurement, of at least the 16 bytes the key
// and value headers take, and the headline's columns are the tables' cells
// at the largest size (10,000 entries with -quick), not the smallest.
func TestMemoryTablesAndHeadline(t *testing.T) {
	r, err := runMemory(&config{quick: true, caches: []string{peers.Ufocache}})
	if err != nil {
		t.Fatal(err)
	}
	u := cells(t, section(t, r, "## uint64 → uint64"), peers.Ufocache)
	s := cells(t, section(t, r, "## string → []byte"), peers.Ufocache)
	for _, c := range append(u[1:], s[1:]...) {
		if leadingNumber(t, c) < 16 {
			t.Errorf("a cell of %q B per entry: uint64 %v, string %v", c, u, s)
		}
	}
	h := cells(t, strings.Join(r.headline, "\n"), peers.Ufocache)
	if leadingNumber(t, h[1]) != leadingNumber(t, u[2]) || leadingNumber(t, h[2]) != leadingNumber(t, s[2]) {
		t.Errorf("headline %v; the 10,000-entry cells are %s and %s", h, u[2], s[2])
	}
}

// The latency headline repeats the 90%-reads table's percentiles, and the
// Set headline the p99.99 and max of the two Set tables.
func TestLatencyHeadlineIsTheTablesCells(t *testing.T) {
	name := peers.XsyncMapOf
	r, err := runLatency(&config{quick: true, cpus: []int{2}, duration: 5 * time.Millisecond, caches: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	get := cells(t, section(t, r, "## 90% reads"), name)     // cache samples p50 p99 p99.9 max
	full := cells(t, section(t, r, "### Into a full"), name) // cache Sets p50 p99 p99.9 p99.99 max
	fill := cells(t, section(t, r, "### Into an empty"), name)
	h := strings.Join(r.headline, "\n")
	for _, want := range []string{
		fmt.Sprintf("| %s | %s | %s | %s |\n", name, get[2], get[3], get[4]),
		fmt.Sprintf("| %s | %s | %s | %s | %s |", name, full[5], full[6], fill[5], fill[6]),
	} {
		if !strings.Contains(h+"\n", want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
}

// dur changes unit at each boundary: 1µs is 1.0µs, not 1000ns; 1ms is
// 1.00ms; 1s is 1s.
func TestDurBoundaries(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{999 * time.Nanosecond, "999ns"},
		{time.Microsecond, "1.0µs"},
		{time.Millisecond, "1.00ms"},
		{time.Second, "1s"},
	} {
		if got := dur(c.d); got != c.want {
			t.Errorf("dur(%d ns) = %q, want %q", c.d.Nanoseconds(), got, c.want)
		}
	}
}
