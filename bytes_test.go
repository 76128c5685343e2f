package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// hostKey is a key type whose underlying type is string, as GetBytes
// allows.
type hostKey string

// bytesKeys returns n distinct keys of 0 to 60 bytes.
func bytesKeys(r *rand.Rand, n int) []hostKey {
	keys := make([]hostKey, n)
	for i := range keys {
		keys[i] = hostKey(fmt.Sprint(i, strings.Repeat("/", r.IntN(58))))
	}
	keys[0] = ""
	return keys
}

func hostHasher(k hostKey) uint64 { return fnvHasher(string(k)) }

// scribble overwrites b: whatever kept a string sharing b's bytes now
// holds another key.
func scribble(b []byte) {
	for i := range b {
		b[i] = '#'
	}
}

// GetBytes(b) answers as Get(string(b)) does, on the same cache, with
// the same counts, under evictions and TTLs, with the default Hasher and
// a custom one; and it keeps nothing of b: the buffer, scribbled over
// after each call, never shows up as a key.
func TestGetBytesIsGetOfTheString(t *testing.T) {
	for _, custom := range []bool{false, true} {
		t.Run(fmt.Sprintf("customHasher=%v", custom), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			clk := &fakeClock{}
			opts := ufocache.Options[hostKey, int]{MaxWeight: 64, Clock: clk, RecordStats: true}
			if custom {
				opts.Hasher = hostHasher
			}
			c := ufocache.Must(opts)
			keys := bytesKeys(r, 200)
			valid := map[hostKey]bool{}
			for _, k := range keys {
				valid[k] = true
			}
			var buf []byte
			hits := 0
			for i := range 20000 {
				k := keys[r.IntN(len(keys))]
				switch op := r.IntN(10); {
				case op < 3:
					c.SetWithTTL(k, i, time.Duration(r.IntN(50))*time.Millisecond)
				case op < 4:
					c.Delete(k)
				case op < 5:
					clk.Advance(time.Millisecond)
				default:
					want, wantOK := c.Get(hostKey(string(k)))
					before := c.Stats()
					buf = append(buf[:0], k...)
					got, ok := ufocache.GetBytes(c, buf)
					scribble(buf)
					after := c.Stats()
					if got != want || ok != wantOK {
						t.Fatalf("step %d: GetBytes(%q) = %d, %v; Get = %d, %v", i, k, got, ok, want, wantOK)
					}
					// GetBytesWithTTL, likewise against GetWithTTL, counting once.
					wantV, wantTTL, wantTOK := c.GetWithTTL(hostKey(string(k)))
					buf = append(buf[:0], k...)
					mid := c.Stats()
					gotV, gotTTL, gotTOK := ufocache.GetBytesWithTTL(c, buf)
					scribble(buf)
					if gotV != wantV || gotTTL != wantTTL || gotTOK != wantTOK || gotTOK != ok {
						t.Fatalf("step %d: GetBytesWithTTL(%q) = %d, %v, %v; GetWithTTL = %d, %v, %v", i, k, gotV, gotTTL, gotTOK, wantV, wantTTL, wantTOK)
					}
					if end := c.Stats(); end.Hits+end.Misses != mid.Hits+mid.Misses+1 {
						t.Fatalf("step %d: GetBytesWithTTL counted %d reads", i, end.Hits+end.Misses-mid.Hits-mid.Misses)
					}
					if ok {
						hits++
					}
					if dh, dm := after.Hits-before.Hits, after.Misses-before.Misses; ok && (dh != 1 || dm != 0) || !ok && (dh != 0 || dm != 1) {
						t.Fatalf("step %d: GetBytes(%q) (found %v) counted %d hits, %d misses", i, k, ok, dh, dm)
					}
				}
			}
			if hits < 1000 {
				t.Fatalf("only %d hits: the test compared few hits", hits)
			}
			for k := range c.All() {
				if !valid[k] {
					t.Fatalf("the cache holds key %q, which was never set", k)
				}
			}
		})
	}
}

// A custom Hasher may keep the key it is given: GetBytes gives it a copy,
// not the caller's bytes.
func TestGetBytesGivesACustomHasherACopy(t *testing.T) {
	var kept []hostKey
	c := ufocache.Must(ufocache.Options[hostKey, int]{MaxWeight: 100, Hasher: func(k hostKey) uint64 {
		kept = append(kept, k)
		return hostHasher(k)
	}})
	c.Set("host/path", 1)
	buf := []byte("host/path")
	if v, ok := ufocache.GetBytes(c, buf); !ok || v != 1 {
		t.Fatalf("GetBytes = %d, %v", v, ok)
	}
	if v, ttl, ok := ufocache.GetBytesWithTTL(c, buf); !ok || v != 1 || ttl != ufocache.NoExpiration {
		t.Fatalf("GetBytesWithTTL = %d, %v, %v", v, ttl, ok)
	}
	scribble(buf)
	if len(kept) < 2 {
		t.Fatalf("the Hasher saw %d keys", len(kept))
	}
	for _, k := range kept[len(kept)-2:] {
		if k != "host/path" {
			t.Fatalf("the Hasher kept %q: it was given the caller's bytes", k)
		}
	}
}

// GetBytes and RTGetBytes(WithTTL) hits and GetBytes misses allocate nothing,
// whatever the key's length and wherever its bytes are, where Get of
// string(b) allocates (TestGetKeyAllocations).
func TestGetBytesAllocatesNothing(t *testing.T) {
	short, long := "host/path", strings.Repeat("a-long-key/", 10)
	ctx := context.Background()
	loader := func(context.Context, string) (int, time.Duration, error) { return 0, 0, nil }
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 1000})
	stats := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 1000, RecordStats: true})
	plainRT, err := ufocache.NewRTCache(c, loader, ufocache.RTOptions[string, int]{})
	if err != nil {
		t.Fatal(err)
	}
	aheadRT, err := ufocache.NewRTCache(stats, loader, ufocache.RTOptions[string, int]{RefreshAhead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{short, long} {
		c.Set(k, 1)
		stats.SetWithTTL(k, 1, time.Hour)
	}
	sb, lb, absent := []byte(short), []byte(long), []byte(long+"?")
	for _, tc := range []struct {
		name string
		get  func() bool
	}{
		{"GetBytes, short key", func() bool { _, ok := ufocache.GetBytes(c, sb); return ok }},
		{"GetBytes, long key", func() bool { _, ok := ufocache.GetBytes(c, lb); return ok }},
		{"GetBytes, key on the stack", func() bool {
			var a [128]byte
			n := copy(a[:], long)
			_, ok := ufocache.GetBytes(c, a[:n])
			return ok
		}},
		{"GetBytes, counting stats", func() bool { _, ok := ufocache.GetBytes(stats, lb); return ok }},
		{"GetBytes, a miss", func() bool { _, ok := ufocache.GetBytes(c, absent); return !ok }},
		{"GetBytesWithTTL, long key with a TTL", func() bool {
			_, ttl, ok := ufocache.GetBytesWithTTL(stats, lb)
			return ok && ttl > 0 && ttl < ufocache.NoExpiration // over an hour by the coarse clock's lag at most
		}},
		{"GetBytesWithTTL, key on the stack", func() bool {
			var a [128]byte
			n := copy(a[:], long)
			_, ttl, ok := ufocache.GetBytesWithTTL(c, a[:n])
			return ok && ttl == ufocache.NoExpiration
		}},
		{"RTGetBytes, plain", func() bool {
			_, st, err := ufocache.RTGetBytes(ctx, plainRT, lb)
			return st == ufocache.Hit && err == nil
		}},
		{"RTGetBytes, stats and RefreshAhead", func() bool {
			_, st, err := ufocache.RTGetBytes(ctx, aheadRT, lb)
			return st == ufocache.Hit && err == nil
		}},
		{"RTGetBytesWithTTL, stats and RefreshAhead", func() bool {
			_, ttl, st, err := ufocache.RTGetBytesWithTTL(ctx, aheadRT, lb)
			return st == ufocache.Hit && err == nil && ttl > 0
		}},
		{"RTGetStaleBytes, stats and RefreshAhead", func() bool {
			_, ss, err := ufocache.RTGetStaleBytes(ctx, aheadRT, lb, time.Minute)
			return ss.Status == ufocache.Hit && err == nil && ss.TTL > 0
		}},
	} {
		if !tc.get() {
			t.Fatalf("%s: not the outcome expected", tc.name)
		}
		if n := testing.AllocsPerRun(200, func() { tc.get() }); n != 0 {
			t.Errorf("%s: %v allocs, want 0", tc.name, n)
		}
	}
	if n := testing.AllocsPerRun(200, func() { c.Get(string(sb)) }); n != 1 {
		t.Errorf("Get(string(b)): %v allocs; the docs say 1", n)
	}
	if aheadRT.Stats().Loads != 0 {
		t.Errorf("a hit far from its expiry started a load")
	}
}

// bytesOrigin is a deterministic origin for one RTCache: each key's loads
// return its load count, and keys of odd length fail every other load.
type bytesOrigin struct {
	loads map[hostKey]int
	seen  []hostKey
}

var errBytesOrigin = errors.New("origin failed")

func (o *bytesOrigin) load(_ context.Context, k hostKey) (int, time.Duration, error) {
	o.loads[k]++
	o.seen = append(o.seen, k)
	if len(k)%2 == 1 && o.loads[k]%2 == 0 {
		return 0, 0, errBytesOrigin
	}
	return o.loads[k], time.Duration(1+len(k)%7) * time.Millisecond, nil
}

// RTGetBytes(b) answers as RTCache.Get(string(b)) does,
// RTGetBytesWithTTL as GetWithTTL, time left included, and
// RTGetStaleBytes as GetStale: two RTCaches fed
// the same calls, one read through each, agree on every value, status and
// error (misses, hits, expired entries, cached errors, hits that refresh
// ahead), on Stats and RTStats, and on the keys their origins were asked
// for, which never show the caller's bytes scribbled over after each call.
func TestRTGetBytesIsGetOfTheString(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []struct {
		name         string
		stats        bool
		refreshAhead time.Duration
		custom       bool
	}{
		{"plain", false, 0, false},
		{"stats", true, 0, false},
		{"refreshAhead", true, 2 * time.Millisecond, false},
		{"customHasher", true, 2 * time.Millisecond, true},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			clk := &fakeClock{}
			keys := bytesKeys(r, 40)
			type side struct {
				rt     *ufocache.RTCache[hostKey, int]
				origin *bytesOrigin
			}
			var sides [2]side
			for i := range sides {
				opts := ufocache.Options[hostKey, int]{MaxWeight: 1000, Clock: clk, RecordStats: cfg.stats, KeepExpired: time.Hour}
				if cfg.custom {
					opts.Hasher = hostHasher
				}
				o := &bytesOrigin{loads: map[hostKey]int{}}
				rt, err := ufocache.NewRTCache(ufocache.Must(opts), o.load, ufocache.RTOptions[hostKey, int]{
					RefreshAhead: cfg.refreshAhead,
					ErrorTTL:     time.Millisecond,
				})
				if err != nil {
					t.Fatal(err)
				}
				sides[i] = side{rt, o}
			}
			var buf []byte
			statuses, errs, withTTL, stales := map[ufocache.Status]int{}, 0, 0, 0
			for i := range 5000 {
				k := keys[r.IntN(len(keys))]
				switch r.IntN(8) {
				case 0, 1:
					clk.Advance(time.Millisecond)
					continue
				case 2:
					for _, s := range sides {
						s.rt.Delete(k)
					}
					continue
				}
				// Every other step, with the time left (RTGetBytesWithTTL
				// against GetWithTTL); the two sides share the clock.
				var v0, v1 int
				var ttl0, ttl1 time.Duration
				var st0, st1 ufocache.Status
				var stale0, stale1 ufocache.StaleStatus
				var err0, err1 error
				buf = append(buf[:0], k...)
				switch i % 3 {
				case 0:
					v0, st0, err0 = sides[0].rt.Get(ctx, hostKey(string(k)))
					v1, st1, err1 = ufocache.RTGetBytes(ctx, sides[1].rt, buf)
				case 1:
					v0, ttl0, st0, err0 = sides[0].rt.GetWithTTL(ctx, hostKey(string(k)))
					v1, ttl1, st1, err1 = ufocache.RTGetBytesWithTTL(ctx, sides[1].rt, buf)
				case 2:
					v0, stale0, err0 = sides[0].rt.GetStale(ctx, hostKey(string(k)), 2*time.Millisecond)
					v1, stale1, err1 = ufocache.RTGetStaleBytes(ctx, sides[1].rt, buf, 2*time.Millisecond)
					st0, st1, ttl0, ttl1 = stale0.Status, stale1.Status, stale0.StaleFor, stale1.StaleFor
					if stale0.TTL != stale1.TTL {
						t.Fatalf("step %d, key %q: RTGetStaleBytes = %d, %v; GetStale = %d, %v", i, k, v1, stale1, v0, stale0)
					}
					if st0 == ufocache.Stale {
						stales++
					}
				}
				scribble(buf)
				if v0 != v1 || ttl0 != ttl1 || st0 != st1 || !errors.Is(err1, err0) || (err0 == nil) != (err1 == nil) {
					t.Fatalf("step %d, key %q: RTGetBytes(WithTTL), RTGetStaleBytes = %d, %v, %v, %v; Get(WithTTL), GetStale = %d, %v, %v, %v",
						i, k, v1, ttl1, st1, err1, v0, ttl0, st0, err0)
				}
				if i%3 == 1 && err0 == nil && ttl0 <= 0 {
					withTTL++
				}
				statuses[st0]++
				if err0 != nil {
					errs++
				}
				for _, s := range sides { // refreshes run in the background
					for n := 0; s.rt.InFlight() > 0; n++ {
						if n == 1e6 {
							t.Fatalf("step %d, key %q: a load still holds its key", i, k)
						}
						runtime.Gosched()
					}
				}
			}
			if withTTL != 0 {
				t.Fatalf("%d values read with their time left had none", withTTL)
			}
			if stales < 20 {
				t.Fatalf("%d stale values served: too few", stales)
			}
			for _, st := range []ufocache.Status{ufocache.Hit, ufocache.Miss, ufocache.Expired} {
				if statuses[st] < 50 || errs < 50 {
					t.Fatalf("outcomes %v and %d errors: too few of %v or errors", statuses, errs, st)
				}
			}
			for _, s := range sides {
				for _, k := range s.origin.seen {
					if strings.Contains(string(k), "#") {
						t.Fatalf("the origin was asked for %q: a load kept the caller's bytes", k)
					}
				}
			}
			if a, b := sides[0].rt.Stats(), sides[1].rt.Stats(); a.Hits != b.Hits || a.Misses != b.Misses || a.ErrorHits != b.ErrorHits || a.Loads != b.Loads || a.LoadErrors != b.LoadErrors || a.Refreshes != b.Refreshes {
				t.Fatalf("RTStats through Get %+v, through RTGetBytes %+v", a, b)
			}
			if cfg.refreshAhead > 0 && sides[0].rt.Stats().Refreshes == 0 {
				t.Fatal("no hit refreshed ahead")
			}
			if a, b := sides[0].rt.Cache().Stats(), sides[1].rt.Cache().Stats(); a.Hits != b.Hits || a.Misses != b.Misses || a.Sets != b.Sets {
				t.Fatalf("Stats through Get %+v, through RTGetBytes %+v", a, b)
			}
		})
	}
}

// GetBytes beside concurrent writers (run it with -race): every hit is the
// value some write stored for that key, read from a buffer that its
// goroutine reuses and scribbles over between calls.
func TestGetBytesConcurrentWithWriters(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := bytesKeys(r, 500)
	index := map[hostKey]int{}
	for i, k := range keys {
		index[k] = i
	}
	c := ufocache.Must(ufocache.Options[hostKey, int]{MaxWeight: 256, Shards: 4})
	// Filled before the readers start, so that their hits do not hang on
	// how soon the scheduler runs the writers: CI's -race run once saw 52
	// hits in 40,000 reads with an empty cache to start from.
	for i, k := range keys {
		c.Set(k, i)
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for !stop.Load() {
				i := r.IntN(len(keys))
				if r.IntN(4) == 0 {
					c.Delete(keys[i])
				} else {
					c.Set(keys[i], i)
				}
			}
		})
	}
	var hits atomic.Int64
	var readers sync.WaitGroup
	for g := range 2 {
		readers.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 8))
			var buf []byte
			for range 20000 {
				k := keys[r.IntN(len(keys))]
				buf = append(buf[:0], k...)
				v, ok := ufocache.GetBytes(c, buf)
				scribble(buf)
				if ok {
					hits.Add(1)
					if v != index[k] {
						t.Errorf("GetBytes(%q) = %d, the value of key %q", k, v, keys[v])
						return
					}
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	wg.Wait()
	if hits.Load() < 1000 {
		t.Fatalf("%d hits in 40,000 reads: the test compared few values", hits.Load())
	}
}
