package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
	"go.uber.org/goleak"
)

// TestSoakAccountingCatches feeds checkAccounting caches and tallies that
// disagree, each in a child process (checkAccounting reports through
// t.Errorf), and expects the child to fail with the matching report.
func TestSoakAccountingCatches(t *testing.T) {
	if c := os.Getenv("UFOCACHE_ACCOUNTING_CASE"); c != "" {
		accountingChild(t, c)
		return
	}
	for _, tc := range []struct{ name, want string }{
		{"clean", ""},
		{"weigher", "the entries found weigh"}, // the cache weighs each entry one more than soakWeight
		{"stray", "the entries found weigh"},   // an entry outside the key space
		{"evicted", "Stats.Sets"},              // an OnEvict call that never happened
		{"loaderrors", "the origin saw"},       // a failed load the origin did not count
		{"bound", "above MaxWeight"},           // a cache that holds more than soakMaxWeight
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSoakAccountingCatches$", "-test.count=1")
		cmd.Env = append(os.Environ(), "UFOCACHE_ACCOUNTING_CASE="+tc.name)
		out, err := cmd.CombinedOutput()
		// The child exercises too little for checkAccounting's coverage
		// checks ("did not exercise"), so it always fails: only the
		// report named counts.
		got := ""
		for _, w := range []string{"above MaxWeight", "the entries found weigh", "Stats.Sets", "the origin saw"} {
			if strings.Contains(string(out), w) {
				got = w
				break
			}
		}
		if tc.want == "" && got != "" || tc.want != "" && (err == nil || got != tc.want) {
			t.Errorf("case %s: report %q (err %v), want %q; output:\n%s", tc.name, got, err, tc.want, out)
		}
	}
}

func accountingChild(t *testing.T, which string) {
	s := &soak{t: t, clock: &soakClock{}, n: soakCounts{n: map[string]*atomic.Int64{}}}
	for i := range 10 {
		s.keys = append(s.keys, fmt.Sprint("k", i))
	}
	for i := range s.owned {
		s.owned[i].name = fmt.Sprint("k", soakKeys+i)
	}
	weigher := soakWeigher
	if which == "weigher" {
		weigher = func(_ string, v soakValue) uint32 { return v.weight + 1 }
	}
	maxWeight := int64(64)
	if which == "bound" {
		maxWeight = 4 * soakMaxWeight // room for more than the soak's bound
	}
	var err error
	s.c, err = ufocache.New(ufocache.Options[string, soakValue]{
		MaxWeight: maxWeight, Shards: 1, Weigher: weigher, Clock: s.clock, RecordStats: true,
		OnEvict: func(_ string, _ soakValue, r ufocache.EvictReason) { s.evicted[r].Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.rt, err = ufocache.NewRTCache(s.c, func(_ context.Context, k string) (soakValue, time.Duration, error) {
		s.n.add("load.calls", 1)
		if k == "k9" {
			if which != "loaderrors" {
				s.n.add("load.failures", 1)
			}
			return soakValue{}, 0, errors.New("origin down")
		}
		return soakValue{key: keyIndex(k), weight: 2}, 0, nil
	}, ufocache.RTOptions[string, soakValue]{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range s.keys[:9] {
		s.c.Set(k, soakValue{key: keyIndex(k), weight: 3})
	}
	s.rt.Delete("k0")
	s.rt.Get(context.Background(), "k0")
	s.rt.Get(context.Background(), "k9")
	if which == "stray" {
		s.c.Set("k999", soakValue{key: 999, weight: 1})
	}
	if which == "evicted" {
		s.evicted[ufocache.EvictCapacity].Add(1)
	}
	if which == "bound" {
		s.c.Set("k8", soakValue{key: 8, weight: soakMaxWeight + 1})
	}
	s.checkAccounting()
}

// TestSoakEndChecksCatch feeds the soak's last checks what they are there
// to catch, each in a child process (they report through t.Errorf): a
// goroutine left running, a load that still holds its key, and a cache
// whose Clear leaves its values on the heap (an OnEvict that keeps them);
// and, beside each, the same without the fault, which must pass.
func TestSoakEndChecksCatch(t *testing.T) {
	if c := os.Getenv("UFOCACHE_SOAK_END_CASE"); c != "" {
		soakEndChild(t, c)
		return
	}
	if testing.Short() {
		t.Skip("fills 16 MiB and waits for goleak: not in -short")
	}
	reports := []string{"still hold their key", "unexpected goroutines", "after Clear the heap is"} // a load that holds its key has its goroutine too
	for _, tc := range []struct{ name, want string }{
		{"quiet", ""},
		{"leak", "unexpected goroutines"},
		{"inflight", "still hold their key"},
		{"heap", ""},
		{"keeper", "after Clear the heap is"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSoakEndChecksCatch$", "-test.count=1")
		cmd.Env = append(os.Environ(), "UFOCACHE_SOAK_END_CASE="+tc.name)
		out, err := cmd.CombinedOutput()
		got := ""
		for _, w := range reports {
			if strings.Contains(string(out), w) {
				got = w
				break
			}
		}
		if got != tc.want || (tc.want == "") != (err == nil) {
			t.Errorf("case %s: report %q (err %v), want %q; output:\n%s", tc.name, got, err, tc.want, out)
		}
	}
}

func soakEndChild(t *testing.T, which string) {
	ignore := goleak.IgnoreCurrent()
	s := &soak{t: t, clock: &soakClock{}, n: soakCounts{n: map[string]*atomic.Int64{}}}
	for i := range soakKeys {
		s.keys = append(s.keys, fmt.Sprint("k", i))
	}
	var kept []soakValue
	opts := ufocache.Options[string, soakValue]{MaxWeight: soakMaxWeight, Shards: soakShards, Weigher: soakWeigher, Clock: s.clock}
	if which == "keeper" {
		opts.OnEvict = func(_ string, v soakValue, _ ufocache.EvictReason) { kept = append(kept, v) }
	}
	var err error
	if s.c, err = ufocache.New(opts); err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer close(hang) // after the checks: the hung load and its caller end
	s.rt, err = ufocache.NewRTCache(s.c, func(context.Context, string) (soakValue, time.Duration, error) {
		<-hang
		return soakValue{}, 0, errors.New("released")
	}, ufocache.RTOptions[string, soakValue]{})
	if err != nil {
		t.Fatal(err)
	}
	switch which {
	case "quiet", "leak", "inflight":
		if which == "leak" {
			go func() { <-hang }()
		}
		if which == "inflight" {
			go s.rt.Get(context.Background(), "k1")
			for s.rt.InFlight() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		s.checkQuiet(ignore, time.Second)
	default:
		s.checkHeapAfterClear(heapInUse())
		runtime.KeepAlive(kept)
	}
}
