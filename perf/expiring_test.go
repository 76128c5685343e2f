package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/zipf"
)

// TestExpiringTTLMix: the TTLs follow the documented mix, and the short
// ones their range.
func TestExpiringTTLMix(t *testing.T) {
	count := map[time.Duration]int{}
	const n = 200_000
	for r := range n {
		count[mixTTL(zipf.Key(r))]++
	}
	for ttl, want := range map[time.Duration]float64{30 * time.Second: 0.3, time.Minute: 0.2, 5 * time.Minute: 0.3, time.Hour: 0.2} {
		if got := float64(count[ttl]) / n; got < want-0.01 || got > want+0.01 {
			t.Errorf("%s for %.3f of the keys, want %.1f", ttl, got, want)
		}
	}
	if len(count) != 4 {
		t.Errorf("TTLs drawn: %v", count)
	}
	lo, hi := time.Hour, time.Duration(0)
	for r := range n {
		d := shortTTL(zipf.Key(r))
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 10*time.Second || lo > 11*time.Second || hi > 120*time.Second || hi < 119*time.Second {
		t.Errorf("short TTLs from %s to %s, want 10 s to 120 s", lo, hi)
	}
}

// TestUnboundedExpiringCountsLiveHits checks the ceiling on a stream small
// enough to count by hand: one request per second, key 1 (TTL 30 s) and
// key 2.
func TestUnboundedExpiringCountsLiveHits(t *testing.T) {
	k := uint64(0)
	for mixTTL(k) != 30*time.Second {
		k++
	}
	keys := make([]uint64, 100)
	for i := range keys {
		keys[i] = k
	}
	// Stored at t=1 s, expired at 31 s: hits at 2..30, stored again at
	// 31, hits 32..60, again at 61, hits 62..90, again at 91, hits 92..100.
	if got := unboundedExpiring(keys, time.Second, mixTTL).hits; got != 29*3+9 {
		t.Fatalf("hits = %d, want %d", got, 29*3+9)
	}
}

// TestExpiringReplayMatchesTheModel: a cache with room for every key
// misses only where the unbounded model does, on a stream that expires
// keys all the time (one request per 10 ms over 2,000 keys: every 30 s
// key comes back after its expiry many times).
func TestExpiringReplayMatchesTheModel(t *testing.T) {
	keys := zipf.Keys(zipf.New(2000, 0.8), 200_000, 1)
	want := unboundedExpiring(keys, 10*time.Millisecond, mixTTL)
	if want.hits == 0 || want.hits >= want.requests*95/100 {
		t.Fatalf("model: %d hits of %d; the stream should both hit and expire", want.hits, want.requests)
	}
	for _, name := range peers.Expiring {
		var now int64
		c := peers.MustNew[uint64](name, peers.Config[uint64]{Capacity: 1 << 20, Sync: true, TTL: mixTTL, Clock: func() int64 { return now }})
		got := replayExpiring(c, keys, &now, 10*time.Millisecond)
		c.Close()
		if got.hits != want.hits {
			t.Errorf("%s: %d hits, the model %d", name, got.hits, want.hits)
		}
	}
}

func TestExpiringWanted(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"-quick"}, false},
		{[]string{"-traces", "gli"}, false},
		{[]string{"-traces", "gli,expiring"}, true},
		{[]string{"-traces", "all"}, true},
		{[]string{"-quick", "-traces", "expiring"}, true},
	} {
		cfg, err := parseFlags(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := expiringWanted(cfg); got != tc.want {
			t.Errorf("%v: expiringWanted = %v", tc.args, got)
		}
	}
}

// TestExpiringSection runs the section with the selected caches: a column
// per cache that supports it, and none for the others.
func TestExpiringSection(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 2M requests per cell")
	}
	cfg, err := parseFlags([]string{"-traces", "expiring", "-runs", "1"})
	if err != nil {
		t.Fatal(err)
	}
	intro, table := runExpiring(cfg, []string{peers.Ufocache, peers.OtterV2, peers.LRU})
	if !strings.Contains(intro, "Only ufocache and otter-v2 take") {
		t.Errorf("intro: %s", intro)
	}
	cells := 0
	for _, sp := range expiringSpecs {
		cells += len(sp.caps)
	}
	if !strings.HasPrefix(table, "| workload @ capacity | ufocache | otter-v2 | unbounded | ufocache − best peer (pp) |\n") || strings.Count(table, "\n") != 2+cells {
		t.Errorf("table:\n%s", table)
	}
	// The last column is ufocache's lead over otter-v2, the one peer.
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] {
		var ufo, otter, unbounded, lead float64
		f := strings.Split(line, "|")
		for i, x := range []*float64{&ufo, &otter, &unbounded, &lead} {
			if _, err := fmt.Sscan(strings.TrimSpace(f[i+2]), x); err != nil {
				t.Fatalf("row %q: %v", line, err)
			}
		}
		if math.Abs(lead-(ufo-otter)) > 0.011 || ufo > unbounded || otter > unbounded {
			t.Errorf("row %q: lead %.2f, want ufocache − otter-v2 = %.2f, both at most the unbounded cache's", line, lead, ufo-otter)
		}
	}
	if intro, table := runExpiring(cfg, []string{peers.LRU}); intro != "" || table != "" {
		t.Errorf("no cache supports it, yet: %q %q", intro, table)
	}
}

// The policy suite does not replay the expiring workloads: named alone,
// they are an error, not an empty report.
func TestPolicySuiteRefusesTheExpiringWorkloads(t *testing.T) {
	cfg, err := parseFlags([]string{"-suite", "policy", "-traces", "expiring"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runPolicy(cfg); err == nil || !strings.Contains(err.Error(), "hitratio suite only") {
		t.Fatalf("runPolicy = %v, want the error that names the hitratio suite", err)
	}
}
