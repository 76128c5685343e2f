package ufocache_test

import (
	"os"
	"os/exec"
	"testing"
	"testing/synctest"

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
