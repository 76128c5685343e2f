package ufocache_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A cache made outside a synctest bubble "keeps to real time wherever it
// is used" (Options.Clock), so a package-level cache may be used by a
// package's synctest tests. Once a shard's index grows to a table of 1 MiB
// or more, the table is allocated by a goroutine that hands it over on a
// channel kept in the index (shard.index.grown). When that growth starts
// inside one bubble and the next add runs in another bubble (or outside
// any), the add receives from the first bubble's channel, and the runtime
// ends the process: "fatal error: receive on synctest channel from outside
// bubble". The scenario runs in a child process, since a fatal error
// cannot be recovered.
func TestCacheMadeOutsideABubbleGrowsAcrossBubbles(t *testing.T) {
	if os.Getenv("UFOCACHE_BUBBLES_CHILD") == "1" {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1 << 22, Shards: 1})
		k := 0
		for ; ufocache.IndexSlotsOf(c, 0) < 50000; k++ { // outside any bubble
			c.Set(k, k)
		}
		// Each add in a bubble of its own until the index has doubled
		// to a table of over 1 MiB.
		for slots := ufocache.IndexSlotsOf(c, 0); ufocache.IndexSlotsOf(c, 0) == slots; k++ {
			synctest.Test(t, func(t *testing.T) { c.Set(k, k) })
		}
		c.Set(-1, -1) // and one outside again
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCacheMadeOutsideABubbleGrowsAcrossBubbles$", "-test.count=1")
	cmd.Env = append(os.Environ(), "UFOCACHE_BUBBLES_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(out) > 2000 {
			out = out[:2000]
		}
		t.Fatalf("using a cache made outside any bubble in successive synctest bubbles: %v\n%s", err, out)
	}
}

// An RTCache made outside any bubble may also be used by one bubble after
// another (and outside again), as its Cache may. A load's context is ended
// by the RTCache's Close; had the channel behind it been made in the first
// bubble that asked for it (a LoadTimeout's WithTimeout asks at once, and
// so does a Loader's nested lookup), the second bubble's first look at it
// would end the process; had it been made outside, a Loader waiting on
// its ctx and a timer would hold the bubble's clock, and the bubble would
// never end. Each bubble here loads with a LoadTimeout, has its Loader
// wait on its ctx and the bubble's clock and look up another key; the
// third Closes the RTCache, and the fourth gets a hit and Closes it again
// (the second Close must not wait on the first one's channel). It runs in a child process: a fatal error
// cannot be recovered, and a bubble that never ends hangs.
func TestRTCacheMadeOutsideABubbleServesBubbleAfterBubble(t *testing.T) {
	if os.Getenv("UFOCACHE_RT_BUBBLES_CHILD") == "1" {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 1000})
		var rt *ufocache.RTCache[string, string]
		rt, err := ufocache.NewRTCache(c, func(ctx context.Context, k string) (string, time.Duration, error) {
			if k == "inner" {
				return "inner", time.Hour, nil
			}
			if _, _, err := rt.Get(ctx, "inner"); err != nil {
				return "", 0, err
			}
			select {
			case <-ctx.Done():
				return "", 0, ctx.Err()
			case <-time.After(time.Millisecond):
			}
			return "v" + k, time.Hour, nil
		}, ufocache.RTOptions[string, string]{LoadTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		get := func(k string) {
			if v, _, err := rt.Get(context.Background(), k); err != nil || v != "v"+k {
				t.Errorf("Get(%s) = %q, %v", k, v, err)
			}
		}
		get("outside") // the shared stops' channels made outside any bubble
		for b := range 4 {
			synctest.Test(t, func(t *testing.T) {
				if b == 3 {
					get("0") // a hit after Close
				} else {
					for i := range 8 {
						get(strconv.Itoa(b*100 + i))
					}
					rt.Delete("inner")
				}
				if b >= 2 {
					if err := rt.Close(context.Background()); err != nil {
						t.Errorf("Close in bubble %d: %v", b, err)
					}
				}
			})
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTCacheMadeOutsideABubbleServesBubbleAfterBubble$", "-test.count=1", "-test.timeout=120s")
	cmd.Env = append(os.Environ(), "UFOCACHE_RT_BUBBLES_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(out) > 2000 {
			out = out[:2000]
		}
		t.Fatalf("using an RTCache made outside any bubble in successive synctest bubbles: %v\n%s", err, out)
	}
}
