package fifo

import "testing"

// An entry read in the small queue has earned its place as much as one in
// main (S3.Add, S3.lapse): when it expires there and is reclaimed, by the
// sweep or by Evict meeting it at small's head, its key comes back to
// main's tail, not to the small queue. (TestUnreadSmallEntryLapsesAsNew is
// the unread counterpart; TestLapsedKeysComeBackToMain covers main's.)
func TestReadSmallEntryLapsesToMain(t *testing.T) {
	const at = 10 // e expires at this instant
	for _, by := range []string{"sweep", "evict"} {
		t.Run(by, func(t *testing.T) {
			p := newS3(100)
			for k := range 200 {
				add(p, newEntry(k, 1))
			}
			e := expiring(500, at)
			add(p, e)
			if e.InMain() || !e.Queued() {
				t.Fatalf("the new entry is not in the small queue (meta %#x)", e.meta.Load())
			}
			e.Touch()
			switch by {
			case "sweep":
				p.RemoveExpired(e, hash(e.Key))
			case "evict":
				// Newcomers push e to small's head, where Evict, at
				// e's expiry, drops it with its read.
				for k := 1000; e.Queued(); k++ {
					if k > 1300 {
						t.Fatal("the expired entry was never reclaimed")
					}
					n := newEntry(k, 1)
					p.sketch.Add(hash(k))
					p.Add(n, hash(k))
					p.Evict(at, n, nil)
				}
				if !e.Dead() {
					t.Fatal("the expired entry left the queues without being dropped")
				}
			}
			if e.Queued() && by == "sweep" {
				t.Fatal("the sweep did not unlink the entry")
			}
			back := newEntry(500, 1)
			p.sketch.Add(hash(500))
			p.Add(back, hash(500))
			if !back.InMain() || p.main.tail != back {
				t.Errorf("key 500, read in the small queue and expired there, came back to the small queue")
			}
			if err := checkS3(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}
