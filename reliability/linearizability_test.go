package reliability

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ufocache/ufocache"
)

var (
	linHistories = flag.Int("lin.histories", 0, "histories per linearizability config (0: a short default)")
	linOps       = flag.Int("lin.ops", 0, "operations per recording goroutine in each history (0: a short default)")
)

// The history's operations. Each is one call of the public API on one
// key; its input and output are what the model judges.
type linKind uint8

const (
	linSet      linKind = iota // Cache.Set, SetWithTTL(NoExpiration), ForceSet(0)
	linGet                     // Cache.Get, GetWithStatus, GetStale, MultiGet of one key
	linDelete                  // Cache.Delete, and Cache.Clear (one per key)
	linRTGet                   // RTCache.Get, MultiGet (one per key)
	linRTSet                   // RTCache.Set
	linRTDelete                // RTCache.Delete, and RTCache.Clear (one per key)
	// linRTLoad is no call but a load's store, recorded where loads run in
	// the background (RefreshAhead): from its Loader's call to the end of
	// the history, it may store its value at any point, or never.
	linRTLoad
)

type linInput struct {
	kind linKind
	key  int
	val  uint64 // the value a Set writes
	how  string // which method, for the report
	at   int64  // the call's stamp (the recorder sets it)
}

type linOutput struct {
	val uint64 // the value returned; 0 for none
	ok  bool   // Set: stored; Get, Delete: found
	st  ufocache.Status
	err error
	// loadAt is, for a loaded value, the stamp taken when its Loader was
	// called (on the recorder's clock), and loadKey the key it was loaded
	// for; 0 and 0 where unknown.
	loadAt  int64
	loadKey int
}

// Values are unique in a history and carry their weight and origin:
// bits 0-2 are the weight (the Weigher returns them; 0 counts as 1), bit 3
// marks a value a Loader produced, and the rest is a sequence number. A
// value that was never written is therefore recognisable as such.
const (
	linWeightMask = 7
	linLoadedBit  = 8
)

func linWeight(v uint64) int64 { return max(int64(v&linWeightMask), 1) }
func linLoaded(v uint64) bool  { return v&linLoadedBit != 0 }

// linModel is the model of one key of a cache that may evict at any moment.
// The state is the key's value (0: absent).
//
//   - A Set of a value that fits in a shard stores it and returns true; of
//     one that can never fit returns false and removes the key.
//   - A Get or a Delete that finds a value finds the state, and a Delete
//     leaves the key absent. A Get may miss whatever the state: the cache
//     may have evicted the key. With strict, a miss is that eviction and
//     leaves the key absent, so an evicted value can never come back;
//     without it, evictions are invisible and a miss changes nothing (the
//     promise as the issue states it).
//   - RTCache.Get: a Hit reads the state. A caller that loaded (Miss) wrote
//     the loaded value, as the load's commit happens within its call; with
//     detach (the history also has RTCache.Set and Delete, which detach a
//     load in flight so that its value is not stored) it may also have
//     written nothing. A LockHit is a read of the state when its value came
//     from the cache or from a load that stored it; the value of a load
//     that was not stored (detached, or too heavy) reaches its waiters
//     all the same, so then only its origin is checked. A failed load
//     writes nothing.
//   - With detach, writes win over loads in flight: the state also holds
//     the fence, the latest call stamp of an RTCache.Set, Delete or Clear
//     linearized so far, and a load whose Loader was called before the
//     fence is never stored, nor joined once such a write has detached it
//     (a load in flight when a write is called was claimed before it, so
//     that write's Forget detaches it unless it already committed, which
//     linearizes it before the write).
func linModel(capacity int64, strict, detach bool) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[int][]porcupine.Operation{}
			var keys []int
			for _, op := range history {
				k := op.Input.(linInput).key
				if _, ok := byKey[k]; !ok {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				out = append(out, byKey[k])
			}
			return out
		},
		Init: func() []any { return []any{linState{}} },
		Step: func(state, input, output any) []any {
			st, in := state.(linState), input.(linInput)
			fence := st.fence
			if detach && (in.kind == linRTSet || in.kind == linRTDelete) {
				fence = max(fence, in.at)
			}
			var next []any
			for _, v := range linNext(st, in, output.(linOutput), capacity, strict, detach) {
				next = append(next, linState{v, fence})
			}
			return next
		},
		Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
		Hash: func(s any) uint64 {
			st := s.(linState)
			return st.v ^ uint64(st.fence)*0x9e3779b97f4a7c15
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(linInput), output.(linOutput)
			switch {
			case out.err != nil:
				return fmt.Sprintf("%s(%d) -> err %v", in.how, in.key, out.err)
			case in.kind == linSet || in.kind == linRTSet:
				return fmt.Sprintf("%s(%d, %#x) -> %v", in.how, in.key, in.val, out.ok)
			case in.kind == linRTLoad:
				return fmt.Sprintf("%s(%d, %#x) called at %d", in.how, in.key, in.val, in.at)
			case in.kind == linRTGet:
				return fmt.Sprintf("%s(%d) -> %#x %v (loaded at %d)", in.how, in.key, out.val, out.st, out.loadAt)
			}
			return fmt.Sprintf("%s(%d) -> %#x %v", in.how, in.key, out.val, out.ok)
		},
		DescribeState: func(s any) string {
			st := s.(linState)
			return fmt.Sprintf("%#x (fence %d)", st.v, st.fence)
		},
	}
	return nm.ToModel()
}

// linState is one key's state in linModel: its value (0: absent), and the
// fence of the writes that detach loads.
type linState struct {
	v     uint64
	fence int64
}

// linNext returns the values the key may hold after in returned out, from
// st; none if out is impossible there.
func linNext(st linState, in linInput, out linOutput, capacity int64, strict, detach bool) []uint64 {
	s := st.v
	switch in.kind {
	case linSet, linRTSet:
		fits := linWeight(in.val) <= capacity
		switch {
		case out.ok != fits:
			return nil
		case fits:
			return []uint64{in.val}
		default:
			return []uint64{0}
		}
	case linGet:
		if out.ok {
			if out.val != s {
				return nil
			}
			return []uint64{s}
		}
		if strict {
			return []uint64{0}
		}
		return []uint64{s}
	case linDelete, linRTDelete:
		if out.ok && out.val != s {
			return nil
		}
		return []uint64{0}
	case linRTLoad:
		switch {
		case detach && in.at < st.fence:
			return []uint64{s} // detached: never stored
		case linWeight(in.val) > capacity:
			return []uint64{0, s} // declined, and the older value removed
		}
		return []uint64{in.val, s}
	case linRTGet:
		if out.err != nil {
			return []uint64{s}
		}
		if out.loadAt > 0 && out.loadKey != in.key {
			return nil // another key's load
		}
		// A load whose Loader was called before the fence was in flight
		// when a write linearized before this point detached it.
		fenced := detach && linLoaded(out.val) && out.loadAt < st.fence
		switch out.st {
		case ufocache.Hit:
			if out.val != s || s == 0 {
				return nil
			}
			return []uint64{s}
		case ufocache.Miss:
			if !linLoaded(out.val) {
				return nil
			}
			next := out.val
			if linWeight(out.val) > capacity {
				next = 0 // declined, and the older value removed
			}
			switch {
			case fenced:
				return []uint64{s} // detached: not stored
			case detach:
				return []uint64{next, s}
			}
			return []uint64{next}
		case ufocache.LockHit:
			if fenced && out.val != s {
				return nil // joined after the write that detached it
			}
			if linLoaded(out.val) && (detach || linWeight(out.val) > capacity) {
				return []uint64{s}
			}
			if out.val != s || s == 0 {
				return nil
			}
			return []uint64{s}
		}
		return nil // no other status without TTLs
	}
	return nil
}

// linRecorder stamps calls and returns with a shared counter: an
// operation that returned before another was called has a smaller return
// stamp than the other's call stamp, which is all porcupine needs.
type linRecorder struct {
	clock atomic.Int64
	mu    sync.Mutex
	ops   []porcupine.Operation
	loads sync.Map // loaded value -> linLoad
	// background holds the linRTLoad operations, whose return stamp is
	// the end of the history (finish).
	background []porcupine.Operation
	// unseen holds the loads that may store a value no call returns (their
	// callers may all have left): finish records each as a linRTLoad
	// unless a Miss returned its value, which records its store.
	unseen []linInput
}

// linLoad is when (the stamp taken as its Loader was called) and for which
// key a value was loaded.
type linLoad struct {
	at  int64
	key int
}

// loaded stamps a call of the Loader (or BatchLoader) that returns v for k,
// and returns the stamp.
func (r *linRecorder) loaded(k int, v uint64) int64 {
	at := r.clock.Add(1)
	r.loads.Store(v, linLoad{at, k})
	return at
}

// mayStore records that the load of v for k, whose Loader was called at
// stamp at, may store v at any point until the history ends.
func (r *linRecorder) mayStore(k int, v uint64, at int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := linInput{kind: linRTLoad, key: k, val: v, how: "load", at: at}
	r.background = append(r.background, porcupine.Operation{ClientId: -1, Input: in, Call: at, Output: linOutput{}})
}

// mayStoreUnseen records that the load of v for k, whose Loader was called
// at stamp at, may store v though no caller returns it as a Miss.
func (r *linRecorder) mayStoreUnseen(k int, v uint64, at int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unseen = append(r.unseen, linInput{kind: linRTLoad, key: k, val: v, how: "load (callers left)", at: at})
}

// finish ends the history: the background stores return now.
func (r *linRecorder) finish() []porcupine.Operation {
	r.mu.Lock() // the loads recorded theirs under it, on their own goroutines
	defer r.mu.Unlock()
	missed := map[uint64]bool{} // values a Miss returned
	for _, op := range r.ops {
		if out := op.Output.(linOutput); out.err == nil && out.st == ufocache.Miss && op.Input.(linInput).kind == linRTGet {
			missed[out.val] = true
		}
	}
	for _, in := range r.unseen {
		if !missed[in.val] {
			r.background = append(r.background, porcupine.Operation{ClientId: -1, Input: in, Call: in.at, Output: linOutput{}})
		}
	}
	end := r.clock.Add(1)
	for _, op := range r.background {
		op.Return = end
		r.ops = append(r.ops, op)
	}
	return r.ops
}

func (r *linRecorder) record(client int, in linInput, f func() linOutput) {
	r.recordEach(client, []linInput{in}, func() []linOutput { return []linOutput{f()} })
}

// recordEach records one call that acts on several keys (a MultiGet) as
// one operation per key, each spanning the whole call.
func (r *linRecorder) recordEach(client int, ins []linInput, f func() []linOutput) {
	call := r.clock.Add(1)
	outs := f()
	ret := r.clock.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, in := range ins {
		in.at = call
		out := outs[i]
		if l, ok := r.loads.Load(out.val); ok && linLoaded(out.val) {
			out.loadAt, out.loadKey = l.(linLoad).at, l.(linLoad).key
		}
		r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	}
}

// linConfig is one kind of history.
type linConfig struct {
	name      string
	maxWeight int64
	shards    int
	weighted  bool
	keys      int // keys the recorded operations use
	filler    int // keys the unrecorded filler writes, to force evictions
	clearOdds int // the filler clears the cache once in this many steps (0: never)
	rt        int // 0: no RTCache; 1: writes through the Cache; 2: through the RTCache
	// loadTimeout, if set, is the RTCache's LoadTimeout: loads then run on
	// goroutines of their own, and one in four overruns it (its Loader
	// returns a value all the same, which must be dropped).
	loadTimeout time.Duration
	// batch gives the RTCache a BatchLoader, and its MultiGets ask for up
	// to every recorded key at once: one operation per key, each spanning
	// the whole call.
	batch bool
	// refreshAhead, if set, is the RTCache's RefreshAhead, above the TTL
	// the Loader gives: every hit starts a background load (one per key
	// at a time), whose store no call returns (linRTLoad).
	refreshAhead time.Duration
	// leave gives the RTCache's callers contexts that can end: one in
	// four has ended before the call or ends within a few microseconds,
	// mostly while it waits for a load, which goes on without it and
	// stores a value that no call may return (linRTLoad).
	leave bool
}

// The configs aim at the ways a value can be lost or resurrected: constant
// eviction in one shard with weights (and values too heavy to store),
// several shards, an index that grows and is cleared under the readers,
// and read-through loads that race with writes.
var linConfigs = []linConfig{
	{name: "1shard-weighted-evicting", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20},
	{name: "4shards-evicting", maxWeight: 16, shards: 4, keys: 4, filler: 60},
	{name: "index-growth-and-clear", maxWeight: 4096, shards: 1, keys: 3, filler: 20000, clearOdds: 1000},
	{name: "rtcache-cache-writes", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 1},
	{name: "rtcache-rt-writes", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2},
	{name: "rtcache-load-timeouts", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, loadTimeout: time.Millisecond},
	{name: "rtcache-batch-loads", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, batch: true},
	{name: "rtcache-refresh-ahead", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, refreshAhead: 2 * time.Hour},
	{name: "rtcache-callers-leave", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, leave: true},
}

var errLinLoad = errors.New("injected load failure")

// linCheckTime bounds porcupine's search for one history; a history it
// cannot decide in that time fails as not linearizable (Unknown).
const linCheckTime = 30 * time.Second

// expected reports whether err is one a call of cfg with ctx may see: the
// injected failure, a load past the LoadTimeout if cfg has one, or the
// end of ctx itself (never another caller's).
func (cfg linConfig) expected(ctx context.Context, err error) bool {
	return err == nil || errors.Is(err, errLinLoad) || cfg.loadTimeout > 0 && errors.Is(err, ufocache.ErrLoadTimeout) ||
		ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// linTotals counts what the checker saw, over the whole run.
var linTotals struct {
	histories, ops, partitions atomic.Int64
}

// TestLinearizable records concurrent histories and checks each with
// porcupine, under the strict model (an eviction is permanent) and the
// issue's model (a Get may miss at any time).
func TestLinearizable(t *testing.T) {
	histories, opsPer := 40, 250
	if testing.Short() {
		histories, opsPer = 10, 100
	}
	if *linHistories > 0 {
		histories = *linHistories
	}
	if *linOps > 0 {
		opsPer = *linOps
	}
	for _, cfg := range linConfigs {
		t.Run(cfg.name, func(t *testing.T) {
			var ops, parts, timeouts, left, unseen int
			for h := range histories {
				history := runLinHistory(t, cfg, uint64(h), opsPer)
				share := cfg.maxWeight / int64(cfg.shards)
				for _, strict := range []bool{true, false} {
					model := linModel(share, strict, cfg.rt == 2)
					// A bound on the search: legal histories check in well
					// under a second, but refuting an illegal one with
					// background loads (each open to the history's end)
					// can search for minutes.
					res, info := porcupine.CheckOperationsVerbose(model, history, linCheckTime)
					if res != porcupine.Ok {
						path := linVisualize(t, model, info)
						t.Fatalf("history %d (strict=%v) is not linearizable (%v); %d operations; visualization: %s",
							h, strict, res, len(history), path)
					}
				}
				ops += len(history)
				parts += len(model0Partition(history))
				for _, op := range history {
					err := op.Output.(linOutput).err
					switch {
					case errors.Is(err, ufocache.ErrLoadTimeout):
						timeouts++
					case err != nil && !errors.Is(err, errLinLoad):
						left++
					case op.ClientId < 0 && cfg.leave:
						unseen++
					}
				}
			}
			if cfg.loadTimeout > 0 && timeouts == 0 {
				t.Errorf("no load overran its LoadTimeout in %d histories: the config checks nothing of the path it is for", histories)
			}
			if cfg.leave && (left == 0 || unseen == 0) {
				t.Errorf("%d callers left, %d loads' values no Miss returned, in %d histories: the config checks nothing of the path it is for", left, unseen, histories)
			}
			linTotals.histories.Add(int64(histories))
			linTotals.ops.Add(int64(ops))
			linTotals.partitions.Add(int64(parts))
			t.Logf("%d histories, %d operations (%d per-key histories, %d load timeouts, %d callers left, %d loads' values no Miss returned), each checked under both models",
				histories, ops, parts, timeouts, left, unseen)
		})
	}
	t.Logf("linearizability: %d histories, %d operations checked", linTotals.histories.Load(), linTotals.ops.Load())
}

func model0Partition(history []porcupine.Operation) [][]porcupine.Operation {
	return linModel(1, true, false).Partition(history)
}

// linVisualize writes porcupine's visualization of a failed check to a
// file that outlives the test, and returns its path.
func linVisualize(t *testing.T, model porcupine.Model, info porcupine.LinearizationInfo) string {
	f, err := os.CreateTemp("", "ufocache-linearizability-*.html")
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	defer f.Close()
	if err := porcupine.Visualize(model, info, f); err != nil {
		return "(none: " + err.Error() + ")"
	}
	return f.Name()
}

// runLinHistory runs one history of cfg and returns its operations.
func runLinHistory(t *testing.T, cfg linConfig, seed uint64, opsPer int) []porcupine.Operation {
	opts := ufocache.Options[int, uint64]{MaxWeight: cfg.maxWeight, Shards: cfg.shards, Clock: frozenClock{}}
	if cfg.weighted {
		opts.Weigher = func(_ int, v uint64) uint32 { return uint32(v & linWeightMask) }
	}
	c, err := ufocache.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var seq atomic.Uint64 // value sequence numbers; unique within the history
	value := func(r *rand.Rand, loaded bool) uint64 {
		w := uint64(1)
		if cfg.weighted {
			w = uint64(r.IntN(8)) // 0..7: 7 is above a shard's share of 6
		}
		v := seq.Add(1)<<4 | w
		if loaded {
			v |= linLoadedBit
		}
		return v
	}
	rec := &linRecorder{}
	var rt *ufocache.RTCache[int, uint64]
	if cfg.rt > 0 {
		loadRand := rand.New(rand.NewPCG(seed, 99))
		var loadMu sync.Mutex
		load := func(ctx context.Context, k int) (uint64, time.Duration, error) {
			loadMu.Lock()
			fail := loadRand.IntN(8) == 0
			slow := loadRand.IntN(4)
			v := value(loadRand, true)
			loadMu.Unlock()
			at := rec.loaded(k, v)
			switch {
			case fail:
			case cfg.refreshAhead > 0:
				rec.mayStore(k, v, at)
			case cfg.leave:
				rec.mayStoreUnseen(k, v, at)
			}
			if cfg.loadTimeout > 0 && slow == 3 {
				// Past LoadTimeout, and past the ctx's end too: the late
				// value must not be stored.
				<-ctx.Done()
				time.Sleep(cfg.loadTimeout)
			}
			for range slow * 50 { // let callers pile up on the load
				runtime.Gosched()
			}
			if cfg.leave && ctx.Err() != nil {
				// As a Loader should. Its ctx keeps none of its leader's
				// cancellation and there is no LoadTimeout, so it never
				// ends here; if it did, a caller that stayed would get
				// the leader's end as its own error.
				return 0, 0, ctx.Err()
			}
			if fail {
				return 0, 0, errLinLoad
			}
			if cfg.refreshAhead > 0 {
				// The clock is frozen: the value never expires, and
				// every hit is within RefreshAhead of its expiry.
				return v, time.Hour, nil
			}
			return v, 0, nil
		}
		opts := ufocache.RTOptions[int, uint64]{LoadTimeout: cfg.loadTimeout, RefreshAhead: cfg.refreshAhead}
		if cfg.batch {
			opts.BatchLoader = func(_ context.Context, keys []int) ([]ufocache.Loaded[uint64], error) {
				loadMu.Lock()
				fail := loadRand.IntN(16) == 0
				res := make([]ufocache.Loaded[uint64], len(keys))
				for i := range res {
					if loadRand.IntN(8) == 0 {
						res[i].Err = errLinLoad // this key only
						continue
					}
					res[i].Value = value(loadRand, true)
					rec.loaded(keys[i], res[i].Value)
				}
				slow := loadRand.IntN(4)
				loadMu.Unlock()
				for range slow * 50 {
					runtime.Gosched()
				}
				if fail {
					return nil, errLinLoad // every key
				}
				return res, nil
			}
		}
		if rt, err = ufocache.NewRTCache(c, load, opts); err != nil {
			t.Fatal(err)
		}
	}

	const clients = 4
	stop := make(chan struct{})
	var filler sync.WaitGroup
	filler.Go(func() {
		r := rand.New(rand.NewPCG(seed, 1))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := cfg.keys + r.IntN(cfg.filler)
			switch {
			case cfg.clearOdds > 0 && r.IntN(cfg.clearOdds) == 0:
				c.Clear()
			case r.IntN(4) == 0:
				c.Delete(k)
			default:
				// Filler values are never looked at; keep them light.
				c.Set(k, uint64(1<<4|1))
			}
			if i%8 == 0 {
				runtime.Gosched()
			}
		}
	})
	var wg sync.WaitGroup
	for client := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(client)+10))
			for range opsPer {
				k := r.IntN(cfg.keys)
				linStep(r, rec, client, c, rt, cfg, k, value)
			}
		})
	}
	wg.Wait()
	close(stop)
	filler.Wait()
	// Background refreshes, and loads whose callers left, end on their
	// own: a generous bound that only a load that never ends reaches.
	for wait := time.Now().Add(10 * time.Second); (cfg.refreshAhead > 0 || cfg.leave) && rt.InFlight() != 0 && time.Now().Before(wait); {
		time.Sleep(time.Millisecond)
	}
	if rt != nil && rt.InFlight() != 0 {
		t.Fatalf("InFlight %d after every caller returned", rt.InFlight())
	}
	if cfg.refreshAhead > 0 && rt.Stats().Refreshes == 0 {
		t.Fatalf("no refresh started: the history checks nothing of RefreshAhead")
	}
	return rec.finish()
}

// linStep runs and records one random operation on key k.
func linStep(r *rand.Rand, rec *linRecorder, client int, c *ufocache.Cache[int, uint64], rt *ufocache.RTCache[int, uint64],
	cfg linConfig, k int, value func(*rand.Rand, bool) uint64,
) {
	ctx := context.Background()
	if cfg.leave {
		var cancel context.CancelFunc
		switch r.IntN(8) {
		case 0:
			ctx, cancel = context.WithCancel(ctx)
			cancel() // left before it called
		case 1:
			ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(20))*time.Microsecond)
		default:
			// Can leave but does not: its load runs on a goroutine of
			// its own all the same, as the leavers' do.
			ctx, cancel = context.WithCancel(ctx)
		}
		defer cancel()
	}
	if r.IntN(64) == 0 {
		// Clear: a delete of every recorded key (an RTCache's also
		// detaches the loads in flight, as its Delete does), each at its
		// own point within the call.
		ins := make([]linInput, cfg.keys)
		for key := range ins {
			ins[key] = linInput{kind: linDelete, key: key, how: "Clear"}
			if rt != nil && cfg.rt == 2 {
				ins[key].kind, ins[key].how = linRTDelete, "RT.Clear"
			}
		}
		rec.recordEach(client, ins, func() []linOutput {
			if rt != nil && cfg.rt == 2 {
				rt.Clear()
			} else {
				c.Clear()
			}
			return make([]linOutput, len(ins))
		})
		return
	}
	n := 10
	if rt != nil {
		n = 14
	}
	switch op := r.IntN(n); {
	case op < 3:
		in := linInput{kind: linSet, key: k, val: value(r, false)}
		if rt != nil && cfg.rt == 2 {
			in.kind, in.how = linRTSet, "RT.Set"
			rec.record(client, in, func() linOutput { return linOutput{ok: rt.Set(k, in.val, 0)} })
			return
		}
		switch op {
		case 0:
			in.how = "Set"
			rec.record(client, in, func() linOutput { return linOutput{ok: c.Set(k, in.val)} })
		case 1:
			in.how = "SetWithTTL"
			rec.record(client, in, func() linOutput { return linOutput{ok: c.SetWithTTL(k, in.val, ufocache.NoExpiration)} })
		default:
			in.how = "ForceSet"
			rec.record(client, in, func() linOutput { return linOutput{ok: c.ForceSet(k, in.val, 0)} })
		}
	case op < 4:
		in := linInput{kind: linDelete, key: k, how: "Delete"}
		if rt != nil && cfg.rt == 2 {
			in.kind, in.how = linRTDelete, "RT.Delete"
			rec.record(client, in, func() linOutput { v, ok := rt.Delete(k); return linOutput{val: v, ok: ok} })
			return
		}
		rec.record(client, in, func() linOutput { v, ok := c.Delete(k); return linOutput{val: v, ok: ok} })
	case op < 10:
		in := linInput{kind: linGet, key: k}
		switch op {
		case 4, 5:
			in.how = "Get"
			rec.record(client, in, func() linOutput { v, ok := c.Get(k); return linOutput{val: v, ok: ok} })
		case 6, 7:
			in.how = "GetWithStatus"
			rec.record(client, in, func() linOutput {
				v, st := c.GetWithStatus(k)
				if st != ufocache.Hit && st != ufocache.Miss {
					return linOutput{val: ^uint64(0), ok: true} // never legal: no TTLs here
				}
				return linOutput{val: v, ok: st == ufocache.Hit}
			})
		case 8:
			in.how = "GetStale"
			rec.record(client, in, func() linOutput {
				v, stale, ok := c.GetStale(k)
				if stale != 0 {
					return linOutput{val: ^uint64(0), ok: true}
				}
				return linOutput{val: v, ok: ok}
			})
		default:
			in.how = "MultiGet"
			rec.record(client, in, func() linOutput {
				res := c.MultiGet([]int{k})
				return linOutput{val: res[0].Value, ok: res[0].Status == ufocache.Hit}
			})
		}
	default:
		in := linInput{kind: linRTGet, key: k, how: "RT.Get"}
		if op == 13 {
			// RT.MultiGet: of k alone without a BatchLoader, its miss
			// loaded as Get's is (coalesce's Do); with one, of 1 to
			// cfg.keys distinct keys, its misses loaded by one
			// BatchLoader call (coalesce's DoBatch).
			keys := []int{k}
			if cfg.batch {
				keys = r.Perm(cfg.keys)[:1+r.IntN(cfg.keys)]
			}
			ins := make([]linInput, len(keys))
			for i, key := range keys {
				ins[i] = linInput{kind: linRTGet, key: key, how: fmt.Sprintf("RT.MultiGet%v", keys)}
			}
			rec.recordEach(client, ins, func() []linOutput {
				res, err := rt.MultiGet(ctx, keys)
				outs := make([]linOutput, len(keys))
				for i := range outs {
					if len(res) != len(keys) || !cfg.expected(ctx, err) || !cfg.expected(ctx, res[i].Err) {
						outs[i] = linOutput{val: ^uint64(0), st: ufocache.Hit} // never legal
						continue
					}
					outs[i] = linOutput{val: res[i].Value, st: res[i].Status, err: res[i].Err}
				}
				return outs
			})
			return
		}
		rec.record(client, in, func() linOutput {
			v, st, err := rt.Get(ctx, k)
			if !cfg.expected(ctx, err) {
				// Only the injected failure, load timeouts and the
				// leavers' ends are expected: report anything else as
				// a value never written.
				return linOutput{val: ^uint64(0), st: ufocache.Hit}
			}
			return linOutput{val: v, st: st, err: err}
		})
	}
}

// frozenClock is a Clock that never moves: these histories have no TTLs,
// and an injected clock keeps the coarse clock's goroutine out of them.
type frozenClock struct{}

func (frozenClock) Nanotime() int64 { return 1 }

// TestLinModelRejects shows the model can fail: hand-made histories that
// break the promise are rejected, and their legal twins accepted.
func TestLinModelRejects(t *testing.T) {
	type o struct {
		in       linInput
		out      linOutput
		call, rt int64
	}
	set := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linSet, key: k, val: v, how: "Set"}, linOutput{ok: true}, call, ret}
	}
	get := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "Get"}, linOutput{val: v, ok: v != 0}, call, ret}
	}
	del := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linDelete, key: k, how: "Delete"}, linOutput{val: v, ok: v != 0}, call, ret}
	}
	rtGet := func(k int, v uint64, st ufocache.Status, call, ret int64) o {
		return o{linInput{kind: linRTGet, key: k, how: "RT.Get"}, linOutput{val: v, st: st}, call, ret}
	}
	// loadedAt is rtGet of a value whose Loader was called at stamp at.
	loadedAt := func(k int, v uint64, st ufocache.Status, at, call, ret int64) o {
		op := rtGet(k, v, st, call, ret)
		op.out.loadAt, op.out.loadKey = at, k
		return op
	}
	bgLoad := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linRTLoad, key: k, val: v, how: "load", at: call}, linOutput{}, call, ret}
	}
	rtSet := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linRTSet, key: k, val: v, how: "RT.Set", at: call}, linOutput{ok: true}, call, ret}
	}
	const a, b, l = 1<<4 | 1, 2<<4 | 1, 3<<4 | 1 | linLoadedBit
	for _, tc := range []struct {
		name          string
		ops           []o
		strict, loose bool // legal under each model
		detach        bool
	}{
		{"sequential set get", []o{set(1, a, 1, 2), get(1, a, 3, 4)}, true, true, false},
		{"get of a value never written", []o{set(1, a, 1, 2), get(1, b, 3, 4)}, false, false, false},
		{"get of another key's value", []o{set(2, a, 1, 2), get(1, a, 3, 4)}, false, false, false},
		{"stale read after overwrite", []o{set(1, a, 1, 2), set(1, b, 3, 4), get(1, a, 5, 6)}, false, false, false},
		{"read during overwrite", []o{set(1, a, 1, 2), set(1, b, 3, 6), get(1, a, 4, 5)}, true, true, false},
		{"read after delete", []o{set(1, a, 1, 2), del(1, a, 3, 4), get(1, a, 5, 6)}, false, false, false},
		{"miss then resurrection", []o{set(1, a, 1, 2), get(1, 0, 3, 4), get(1, a, 5, 6)}, false, true, false},
		{"delete of a value never written", []o{set(1, a, 1, 2), del(1, b, 3, 4)}, false, false, false},
		{"declined set", []o{{linInput{kind: linSet, key: 1, val: a, how: "Set"}, linOutput{ok: false}, 1, 2}}, false, false, false},
		{"loaded value then hit", []o{rtGet(1, l, ufocache.Miss, 1, 2), get(1, l, 3, 4)}, true, true, false},
		{"miss that loads a set value", []o{set(1, a, 1, 2), rtGet(1, a, ufocache.Miss, 3, 4)}, false, false, false},
		{"lock hit of an unstored load", []o{rtGet(1, l, ufocache.LockHit, 1, 2)}, false, false, false},
		{"lock hit of a detached load", []o{rtGet(1, l, ufocache.LockHit, 1, 2)}, true, true, true},
		{"hit on an empty cache", []o{rtGet(1, a, ufocache.Hit, 1, 2)}, false, false, false},
		// A load whose Loader was called (at 2) before an RT.Set (called
		// at 3) is detached by it unless it committed first.
		{"load stored over a later RT.Set", []o{loadedAt(1, l, ufocache.Miss, 2, 1, 6), rtSet(1, a, 3, 4), get(1, l, 7, 8)}, false, false, true},
		{"load stored before a later RT.Set", []o{loadedAt(1, l, ufocache.Miss, 2, 1, 6), rtSet(1, a, 3, 4), get(1, a, 7, 8)}, true, true, true},
		{"load called after the RT.Set", []o{rtSet(1, a, 1, 2), loadedAt(1, l, ufocache.Miss, 4, 3, 6), get(1, l, 7, 8)}, true, true, true},
		{"lock hit joining a load the RT.Set had detached", []o{rtSet(1, a, 3, 4), loadedAt(1, l, ufocache.LockHit, 2, 5, 6)}, false, false, true},
		{"lock hit that joined before the RT.Set returned", []o{rtSet(1, a, 3, 5), loadedAt(1, l, ufocache.LockHit, 2, 4, 6)}, true, true, true},
		// A background load (RefreshAhead), its Loader called at 2: it may
		// store at any point until the end (100), unless a write called
		// after 2 detached it first.
		{"background load stored over a later RT.Set", []o{bgLoad(1, l, 2, 100), rtSet(1, a, 3, 4), get(1, a, 5, 6), get(1, l, 7, 8)}, false, false, true},
		{"background load stored over an earlier RT.Set", []o{rtSet(1, a, 1, 4), bgLoad(1, l, 3, 100), get(1, l, 5, 6)}, true, true, true},
		{"background load stored after an eviction", []o{bgLoad(1, l, 2, 100), get(1, 0, 3, 4), get(1, l, 5, 6)}, true, true, true},
		{"miss that returns another key's load", []o{func() o { op := loadedAt(1, l, ufocache.Miss, 2, 1, 3); op.out.loadKey = 2; return op }()}, false, false, true},
	} {
		var history []porcupine.Operation
		for _, op := range tc.ops {
			history = append(history, porcupine.Operation{Input: op.in, Output: op.out, Call: op.call, Return: op.rt})
		}
		for _, strict := range []bool{true, false} {
			want := tc.loose
			if strict {
				want = tc.strict
			}
			if got := porcupine.CheckOperations(linModel(6, strict, tc.detach), history); got != want {
				t.Errorf("%s (strict=%v): linearizable = %v, want %v", tc.name, strict, got, want)
			}
		}
	}
}

// TestLinRecorderAddsOnlyUnseenLoads: a load whose value a Miss returned
// is that Miss's store, and gets no open-ended store of its own (which
// would let the value come back after an eviction); one whose value only
// a LockHit returned, or none, gets one, from its Loader's call to the
// history's end.
func TestLinRecorderAddsOnlyUnseenLoads(t *testing.T) {
	rec := &linRecorder{}
	const missed, joined, none = 1<<4 | linLoadedBit, 2<<4 | linLoadedBit, 3<<4 | linLoadedBit
	for _, tc := range []struct {
		v        uint64
		st       ufocache.Status
		returned bool
	}{{missed, ufocache.Miss, true}, {joined, ufocache.LockHit, true}, {none, 0, false}} {
		rec.mayStoreUnseen(1, tc.v, rec.loaded(1, tc.v))
		if tc.returned {
			rec.record(0, linInput{kind: linRTGet, key: 1, how: "RT.Get"}, func() linOutput { return linOutput{val: tc.v, st: tc.st} })
		}
	}
	ops := rec.finish()
	var stores []uint64
	for _, op := range ops {
		if in := op.Input.(linInput); in.kind == linRTLoad {
			stores = append(stores, in.val)
			if at := rec.clock.Load(); op.Return != at || op.Call >= at {
				t.Errorf("store of %#x spans [%d, %d], want from its Loader's call to %d", in.val, op.Call, op.Return, at)
			}
		}
	}
	if len(stores) != 2 || stores[0] != joined || stores[1] != none {
		t.Errorf("open-ended stores of %#x, want of %#x and %#x only", stores, joined, none)
	}
}
