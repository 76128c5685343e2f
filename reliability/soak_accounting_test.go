package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
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
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSoakAccountingCatches$", "-test.count=1")
		cmd.Env = append(os.Environ(), "UFOCACHE_ACCOUNTING_CASE="+tc.name)
		out, err := cmd.CombinedOutput()
		// The child exercises too little for checkAccounting's coverage
		// checks ("did not exercise"), so it always fails: only the
		// report named counts.
		got := ""
		for _, w := range []string{"the entries found weigh", "Stats.Sets", "the origin saw"} {
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
	var err error
	s.c, err = ufocache.New(ufocache.Options[string, soakValue]{
		MaxWeight: 64, Shards: 1, Weigher: weigher, Clock: s.clock, RecordStats: true,
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
	s.checkAccounting()
}
