// Package reliability holds ufocache's reliability harnesses, as tests:
//
//   - linearizability (TestLinearizable): concurrent histories of Get, Set,
//     Delete and RTCache.Get (some of whose callers leave before their
//     load ends) on a few keys, recorded from several goroutines while
//     another forces evictions, index growth and clears, each checked
//     with porcupine against a model of a cache that may evict at any
//     moment; two configs move the caches' Clock during the history and
//     check TTLs, the time left GetWithTTL reports, stale reads,
//     Invalidate, DeleteExpired and ErrorTTL
//     against expiries known as windows of Clock readings
//     (TestLinModelRejects shows the model rejects the histories it must);
//   - soak (TestSoak): a mixed workload (reads, writes, deletes, TTL expiry
//     through an injected clock, weighted entries, read-through loads that
//     fail, panic, call runtime.Goexit, are slow, hang past their timeout
//     or lose their caller, batch loaders that misbehave) for a set
//     duration, where a few keys are written one writer at a time with
//     rising versions and every read of them checks it is fresh (never
//     older than a write that returned before the read was called, the
//     writes too heavy to store included); then the accounting the public
//     API shows (Len and Weight within MaxWeight, every entry found adds
//     up to Len and Weight, All yields the live ones, Stats agrees with
//     the OnEvict calls, RTStats with the loads the origin saw), no
//     goroutine left behind (goleak), and the heap back near its level
//     after Clear;
//   - bad input to RTCache beyond what the library's own tests cover
//     (rtinput_test.go).
//
// TestMain fails the run if any test leaves a goroutine behind.
//
// It is a module of its own so that its test dependencies (porcupine,
// goleak) never enter the library's go.mod. From the repository root:
//
//	go -C reliability test -race ./...                          # the short run
//	go -C reliability test -race -run Soak -soak=10m .          # a long soak (or UFOCACHE_SOAK=10m)
//	go -C reliability test -race -run Linearizable -lin.histories=500 .
package reliability
