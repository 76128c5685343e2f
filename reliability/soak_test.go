package reliability

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
	"go.uber.org/goleak"
)

var soakFlag = flag.Duration("soak", 0, "how long TestSoak runs (0: $UFOCACHE_SOAK, else 3s; 1s with -short)")

// soakLoadTimeout bounds each load; a success returned with less than
// soakLateMargin left may be counted as a timeout (see soak.late).
const (
	soakLoadTimeout = 20 * time.Millisecond
	soakLateMargin  = soakLoadTimeout / 4
)

func soakDuration(t *testing.T) time.Duration {
	if *soakFlag > 0 {
		return *soakFlag
	}
	if s := os.Getenv("UFOCACHE_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("UFOCACHE_SOAK=%q: want a positive duration such as 2m", s)
		}
		return d
	}
	if testing.Short() {
		return time.Second
	}
	return 3 * time.Second
}

// The soak cache: weighted entries in 4 shards, every value a little
// heavier or lighter, a few too heavy for a shard.
const (
	soakMaxWeight = 1 << 13
	soakShards    = 4
	soakShare     = soakMaxWeight / soakShards
	// soakMinWeight is the other bound SetMaxWeight moves the cache to
	// and back from; the entry limit then moves between soakMinShare and
	// soakShare.
	soakMinWeight = soakMaxWeight / 2
	soakMinShare  = soakMinWeight / soakShards
	soakKeys      = 4000
	soakHotKeys   = 32
	// soakOwned keys, named after the soakKeys, are written one write
	// at a time (see ownedKey).
	soakOwned = 16
)

// soakValue names its key, so that every read can check it got its own
// key's value, and carries its weight and a payload; an owned key's value
// also its version.
type soakValue struct {
	key     int32
	weight  uint32
	ver     uint64
	payload []byte
}

// ownedKey is a key written by one worker at a time, the one holding its
// lock (with Cache.Set, SetWithTTL, ForceSet, SetIfAbsent, Delete,
// RTCache.Set, Delete), each write with a version one above the last, so that a read
// (which takes no lock) can check it is fresh: a read called after a
// write returned finds that write's value or a later one, or nothing
// (evicted, expired, cleared), never an older value, and never a version
// no write carried. Only the Cache's reads and All read it: an
// RTCache.Get could load a value of its own.
type ownedKey struct {
	name string
	mu   sync.Mutex // held by the writer
	// floor is the least version a read called now may return: the
	// version of the last write that returned (a Delete's is one no
	// value carries).
	floor atomic.Uint64
	// issued is the version of the last write called.
	issued atomic.Uint64
}

func soakWeigher(_ string, v soakValue) uint32 { return v.weight }

func soakWeight(v soakValue) int64 { return max(int64(v.weight), 1) }

// soakClock is the injected clock: it moves only when a worker moves it.
type soakClock struct{ ns atomic.Int64 }

func (c *soakClock) Nanotime() int64 { return c.ns.Load() }

// soakCounts are the soak's tallies, by name: operations of each kind and
// faults of each kind. They are also what the RTCache's and the Cache's
// counters are compared with at the end.
type soakCounts struct {
	mu sync.Mutex
	n  map[string]*atomic.Int64
}

func (s *soakCounts) add(name string, d int64) {
	s.mu.Lock()
	c, ok := s.n[name]
	if !ok {
		c = new(atomic.Int64)
		s.n[name] = c
	}
	s.mu.Unlock()
	c.Add(d)
}

func (s *soakCounts) get(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.n[name]; ok {
		return c.Load()
	}
	return 0
}

func (s *soakCounts) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, group := range []string{"op.", "fault.", "chase.", "outcome."} {
		fmt.Fprintf(&b, "\n  %s", strings.TrimSuffix(group, "."))
		for _, name := range sortedKeys(s.n) {
			if strings.HasPrefix(name, group) {
				fmt.Fprintf(&b, " %s=%d", strings.TrimPrefix(name, group), s.n[name].Load())
			}
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // insertion sort: a few dozen names
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

var (
	errSoakLoad  = errors.New("soak: injected load error")
	errSoakBatch = errors.New("soak: injected batch error")
	errSoakHang  = errors.New("soak: hung load released")
)

const soakPanic = "soak: injected loader panic"

// soak is one run's shared state.
type soak struct {
	t       *testing.T
	c       *ufocache.Cache[string, soakValue]
	rt      *ufocache.RTCache[string, soakValue]
	clock   *soakClock
	keys    []string
	owned   [soakOwned]ownedKey
	release chan struct{} // closed at the end: hung loads return
	n       soakCounts
	evicted [6]atomic.Int64 // OnEvict calls by reason
	bad     atomic.Int64    // failures reported, to stop reporting after a few
	seq     atomic.Uint64   // seeds of the loaders' random draws
	// resizing orders the soak's SetMaxWeight calls with the check that
	// follows each: until the next one, the cache holds at most its bound.
	resizing sync.Mutex
}

func (s *soak) errorf(format string, args ...any) {
	if s.bad.Add(1) <= 10 {
		s.t.Errorf(format, args...)
	}
}

// keyIndex returns the number in a key "k123".
func keyIndex(k string) int32 {
	var n int32
	for _, c := range k[1:] {
		n = n*10 + c - '0'
	}
	return n
}

func (s *soak) value(r *rand.Rand, k string, payloadPerUnit int) soakValue {
	w := uint32(r.IntN(16)) // 0..15; 0 counts as 1
	if r.IntN(100) == 0 {
		w = soakShare + uint32(r.IntN(3)) // at the share, or just above it
	}
	v := soakValue{key: keyIndex(k), weight: w}
	if payloadPerUnit > 0 {
		v.payload = make([]byte, int(max(w, 1))*payloadPerUnit)
	}
	return v
}

// check verifies a value returned for k.
func (s *soak) check(where, k string, v soakValue) {
	if v.key != keyIndex(k) {
		s.errorf("%s(%s) returned the value of k%d", where, k, v.key)
	}
}

// ownedOf returns k's ownedKey, or nil if k is not owned.
func (s *soak) ownedOf(k string) *ownedKey {
	if i := keyIndex(k) - soakKeys; i >= 0 && i < soakOwned {
		return &s.owned[i]
	}
	return nil
}

// checkFresh verifies a value returned for an owned key by a read called
// when its floor was floor.
func (s *soak) checkFresh(where string, o *ownedKey, floor uint64, v soakValue) {
	s.check(where, o.name, v)
	if v.ver < floor {
		s.errorf("%s(%s) returned version %d, called after the write of version %d returned", where, o.name, v.ver, floor)
	}
	if issued := o.issued.Load(); v.ver > issued || v.ver == 0 {
		s.errorf("%s(%s) returned version %d, which no write carried (last %d)", where, o.name, v.ver, issued)
	}
}

// writeOwned writes an owned key, unless another worker is writing it.
func (s *soak) writeOwned(r *rand.Rand) {
	o := &s.owned[r.IntN(soakOwned)]
	if !o.mu.TryLock() {
		return
	}
	defer o.mu.Unlock()
	ver := o.issued.Load() + 1
	o.issued.Store(ver)
	k, c, rt := o.name, s.c, s.rt
	ttl := time.Duration(r.IntN(40)) * time.Millisecond
	if r.IntN(8) == 0 {
		s.n.add("op.owned.Delete", 1)
		if r.IntN(2) == 0 {
			c.Delete(k)
		} else {
			rt.Delete(k)
		}
	} else {
		s.n.add("op.owned.Set", 1)
		v := soakValue{key: keyIndex(k), weight: uint32(r.IntN(16)), ver: ver}
		if r.IntN(16) == 0 {
			// Too heavy to store: the write removes the older value
			// (Set's doc), so the floor rises all the same.
			v.weight = soakShare + 1
		}
		var ok bool
		switch r.IntN(5) {
		case 0:
			ok = c.Set(k, v)
		case 1:
			ok = c.SetWithTTL(k, v, ttl)
		case 2:
			ok = c.ForceSet(k, v, ttl)
		case 3:
			ok = rt.Set(k, v, ttl)
		default:
			s.n.add("op.owned.SetIfAbsent", 1)
			got, stored := c.SetIfAbsent(k, v, ttl)
			if !stored && got.ver != 0 {
				// It found a live value and left it: the last write's,
				// as no other write of the key can run. This write did
				// not happen: ver is withdrawn (no value carries it), and
				// the floor stays at the last write's.
				if floor := o.floor.Load(); got.ver != floor {
					s.errorf("SetIfAbsent(%s) found version %d live; the last write was %d", k, got.ver, floor)
				}
				s.check("SetIfAbsent", k, got)
				o.issued.Store(ver - 1)
				return
			}
			if ok = stored; stored && got.ver != ver {
				s.errorf("SetIfAbsent(%s) stored version %d but returned %d", k, ver, got.ver)
			}
		}
		if !storedAsItMay(soakWeight(v), ok) {
			s.errorf("Set(%s) of version %d, weight %d, returned %v", k, ver, v.weight, ok)
		}
	}
	o.floor.Store(ver)
}

// readOwned reads an owned key and checks the value is fresh.
func (s *soak) readOwned(r *rand.Rand) {
	o := &s.owned[r.IntN(soakOwned)]
	s.n.add("op.owned.read", 1)
	floor := o.floor.Load()
	switch r.IntN(4) {
	case 0:
		if v, ok := s.c.Get(o.name); ok {
			s.checkFresh("Get", o, floor, v)
		}
	case 1:
		if v, st := s.c.GetWithStatus(o.name); st == ufocache.Hit {
			s.checkFresh("GetWithStatus", o, floor, v)
		}
	case 2:
		if v, _, ok := s.c.GetStale(o.name); ok {
			s.checkFresh("GetStale", o, floor, v)
		}
	default:
		for _, res := range s.c.MultiGet([]string{o.name}) {
			if res.Status == ufocache.Hit {
				s.checkFresh("MultiGet", o, floor, res.Value)
			}
		}
	}
}

// storedAsItMay reports whether ok is a Set's right answer for a value of
// weight w (with a TTL that lets it be stored): one within the smaller
// entry limit is stored, one above the larger is declined, and one
// between may be either, as the bound moves meanwhile.
func storedAsItMay(w int64, ok bool) bool {
	switch {
	case w <= soakMinShare:
		return ok
	case w > soakShare:
		return !ok
	}
	return true
}

// checkBound verifies the weight bound after a call returned.
func (s *soak) checkBound(where string) {
	if w, n := s.c.Weight(), s.c.Len(); w > soakMaxWeight || n > soakMaxWeight {
		s.errorf("after %s: Weight %d, Len %d above MaxWeight %d", where, w, n, soakMaxWeight)
	}
}

// loader is the origin: most loads succeed, the others fail in every way
// a load can fail. Every outcome is counted, to be compared with RTStats.
func (s *soak) loader(ctx context.Context, k string) (v soakValue, ttl time.Duration, err error) {
	r := rand.New(rand.NewPCG(s.seq.Add(1), uint64(keyIndex(k))))
	s.n.add("load.calls", 1)
	failed := true // until it returns a nil error
	defer func() {
		if failed {
			s.n.add("load.failures", 1)
		} else {
			s.late(ctx, 1)
		}
	}()
	switch f := r.IntN(100); {
	case f < 8:
		s.n.add("fault.error", 1)
		return v, 0, errSoakLoad
	case f < 12:
		s.n.add("fault.panic", 1)
		panic(soakPanic)
	case f < 14:
		s.n.add("fault.goexit", 1)
		runtime.Goexit()
	case f < 17:
		s.n.add("fault.hang", 1)
		select { // past LoadTimeout, released at the latest at the end
		case <-ctx.Done():
			return v, 0, ctx.Err()
		case <-s.release:
			return v, 0, errSoakHang
		}
	case f < 25:
		s.n.add("fault.slow", 1)
		time.Sleep(time.Duration(r.IntN(1000)) * time.Microsecond)
	case f < 30 && keyIndex(k) < soakHotKeys:
		// A CNAME chase: a hot key first asks for its twin, with this
		// Loader's ctx; twins that chase each other make a loop, which
		// one of them sees as ErrLoadCycle.
		s.n.add("fault.chase", 1)
		if err := s.chase(ctx, s.keys[keyIndex(k)^1]); err != nil {
			if errors.Is(err, ufocache.ErrLoadCycle) {
				s.n.add("chase.cycles", 1)
			}
			return v, 0, err
		}
	}
	v = s.value(r, k, 4)
	switch r.IntN(10) {
	case 0:
		ttl = -1 // returned, not stored
	case 1, 2:
		ttl = 0 // the cache's DefaultTTL
	default:
		ttl = time.Duration(1+r.IntN(40)) * time.Millisecond
	}
	failed = false
	return v, ttl, nil
}

// chase looks k up for a Loader, with its ctx: the lookup's error, a
// panic of a load it led included (as that *PanicError), fails the Loader.
func (s *soak) chase(ctx context.Context, k string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*ufocache.PanicError)
			if !ok {
				panic(r)
			}
			err = pe
		}
	}()
	v, st, err := s.rt.Get(ctx, k)
	s.rtOutcome("chase", k, v, st, err)
	return err
}

// batchLoader loads MultiGet's misses, and sometimes misbehaves as a whole.
func (s *soak) batchLoader(ctx context.Context, keys []string) ([]ufocache.Loaded[soakValue], error) {
	r := rand.New(rand.NewPCG(s.seq.Add(1), uint64(len(keys))))
	s.n.add("batch.calls", 1)
	s.n.add("batch.keys", int64(len(keys)))
	wholeFails := func() { s.n.add("batch.failures", int64(len(keys))) }
	switch f := r.IntN(100); {
	case f < 5:
		s.n.add("fault.batch-error", 1)
		wholeFails()
		return nil, errSoakBatch
	case f < 8:
		s.n.add("fault.batch-panic", 1)
		wholeFails()
		panic(soakPanic)
	case f < 10:
		s.n.add("fault.batch-short", 1)
		wholeFails()
		return make([]ufocache.Loaded[soakValue], len(keys)-1), nil
	case f < 12:
		s.n.add("fault.batch-long", 1)
		wholeFails()
		return make([]ufocache.Loaded[soakValue], len(keys)+1), nil
	case f < 14:
		s.n.add("fault.batch-hang", 1)
		wholeFails()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.release:
			return nil, errSoakHang
		}
	}
	out := make([]ufocache.Loaded[soakValue], len(keys))
	for i, k := range keys {
		if r.IntN(10) == 0 {
			out[i].Err = errSoakLoad
			s.n.add("batch.failures", 1)
			continue
		}
		out[i].Value = s.value(r, k, 4)
		out[i].TTL = time.Duration(r.IntN(40)) * time.Millisecond
		s.late(ctx, 1)
	}
	return out, nil
}

// late counts n loads that succeed at the edge of their LoadTimeout (past
// it, or within soakLateMargin of it): RTStats may count them as timed out
// (failed) or not, depending on whether the load timer fires before the
// load's result is in, a race no origin can see the end of.
func (s *soak) late(ctx context.Context, n int64) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < soakLateMargin {
		s.n.add("load.late", n)
	}
}

// expectedErr reports whether err is one a read-through call may return
// in this soak.
func expectedErr(err error) bool {
	var pe *ufocache.PanicError
	switch {
	case errors.As(err, &pe):
		return pe.Value == soakPanic
	case errors.Is(err, errSoakLoad), errors.Is(err, errSoakBatch), errors.Is(err, errSoakHang),
		errors.Is(err, ufocache.ErrGoexit), errors.Is(err, ufocache.ErrLoadTimeout),
		errors.Is(err, ufocache.ErrLockTimeout), errors.Is(err, ufocache.ErrBatchSize),
		errors.Is(err, ufocache.ErrLoadCycle),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return false
}

// rtCall runs one read-through call, recovering the panic a leader gets
// when its load panicked.
func (s *soak) rtCall(name string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			if pe, ok := p.(*ufocache.PanicError); !ok || pe.Value != soakPanic {
				s.errorf("%s panicked with %v", name, p)
				return
			}
			s.n.add("outcome.leader-repanic", 1)
		}
	}()
	f()
}

// callerCtx returns the context of one read-through caller: most wait as
// long as it takes, some have left before they call, some leave while
// they wait.
func (s *soak) callerCtx(r *rand.Rand) (context.Context, context.CancelFunc) {
	switch r.IntN(20) {
	case 0:
		s.n.add("fault.caller-cancelled", 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	case 1, 2:
		s.n.add("fault.caller-deadline", 1)
		return context.WithTimeout(context.Background(), time.Duration(r.IntN(500))*time.Microsecond)
	}
	return context.Background(), func() {}
}

func (s *soak) rtOutcome(method, k string, v soakValue, st ufocache.Status, err error) {
	switch {
	case err != nil:
		if !expectedErr(err) {
			s.errorf("%s(%s): unexpected error %v", method, k, err)
		}
		s.n.add("outcome.error", 1)
	default:
		s.check(method, k, v)
		s.n.add("outcome."+st.String(), 1)
	}
}

// key draws a key: often one of a few hot keys, so that callers meet on
// the same loads, else any.
func (s *soak) key(r *rand.Rand) string {
	if r.IntN(5) < 2 {
		return s.keys[r.IntN(soakHotKeys)]
	}
	return s.keys[r.IntN(len(s.keys))]
}

// step runs one random operation.
func (s *soak) step(r *rand.Rand) {
	switch r.IntN(20) {
	case 0, 1:
		s.readOwned(r)
		return
	case 2:
		s.writeOwned(r)
		return
	}
	k := s.key(r)
	c, rt := s.c, s.rt
	switch op := r.IntN(100); {
	case op < 20:
		s.n.add("op.Get", 1)
		if v, ok := c.Get(k); ok {
			s.check("Get", k, v)
		}
	case op < 25:
		s.n.add("op.GetWithStatus", 1)
		if v, st := c.GetWithStatus(k); st == ufocache.Hit {
			s.check("GetWithStatus", k, v)
		}
	case op < 28:
		s.n.add("op.GetStale", 1)
		if v, _, ok := c.GetStale(k); ok {
			s.check("GetStale", k, v)
		}
	case op < 30:
		s.n.add("op.MultiGet", 1)
		keys := []string{k, s.key(r), k}
		for i, res := range c.MultiGet(keys) {
			if res.Status == ufocache.Hit {
				s.check("MultiGet", keys[i], res.Value)
			}
		}
	case op < 40:
		s.n.add("op.Set", 1)
		v := s.value(r, k, 0)
		ttl := time.Duration(r.IntN(50)-5) * time.Millisecond // some negative, some 0 (the default)
		var ok bool
		switch r.IntN(3) {
		case 0:
			ok, ttl = c.Set(k, v), 0
		case 1:
			ok = c.SetWithTTL(k, v, ttl)
		default:
			ok = c.ForceSet(k, v, ttl)
		}
		if ttl < 0 && ok || ttl >= 0 && !storedAsItMay(soakWeight(v), ok) {
			s.errorf("Set(%s) of weight %d with TTL %v returned %v", k, soakWeight(v), ttl, ok)
		}
		s.checkBound("Set")
	case op < 44:
		s.n.add("op.Delete", 1)
		if v, ok := c.Delete(k); ok {
			s.check("Delete", k, v)
		}
		s.checkBound("Delete")
	case op < 46:
		s.n.add("op.clock", 1)
		s.clock.ns.Add(int64(time.Millisecond))
	case op < 47:
		if r.IntN(20) == 0 {
			// The bound moves (entries leave for capacity; the index
			// shrinks) while the other workers go on.
			w := []int64{soakMaxWeight, soakMinWeight}[r.IntN(2)]
			s.n.add("op.SetMaxWeight", 1)
			s.resizing.Lock()
			if err := c.SetMaxWeight(w); err != nil {
				s.errorf("SetMaxWeight(%d): %v", w, err)
			}
			if got := c.Weight(); got > w {
				s.errorf("Weight %d after SetMaxWeight(%d) returned", got, w)
			}
			s.resizing.Unlock()
			s.checkBound("SetMaxWeight")
		} else if r.IntN(10) == 0 {
			s.n.add("op.DeleteExpired", 1)
			c.DeleteExpired()
		} else {
			s.n.add("op.All", 1)
			var floors [soakOwned]uint64
			for i := range s.owned {
				floors[i] = s.owned[i].floor.Load()
			}
			n := 0
			for k, v := range c.All() {
				if o := s.ownedOf(k); o != nil {
					s.checkFresh("All", o, floors[keyIndex(k)-soakKeys], v)
				} else {
					s.check("All", k, v)
				}
				if n++; n == 50 {
					break
				}
			}
		}
	case op < 48 && r.IntN(50) == 0:
		if r.IntN(2) == 0 { // the RTCache's: it also detaches the loads in flight
			s.n.add("op.RT.Clear", 1)
			rt.Clear()
		} else {
			s.n.add("op.Clear", 1)
			c.Clear()
		}
		s.checkBound("Clear")
	case op < 70:
		s.n.add("op.RT.Get", 1)
		ctx, cancel := s.callerCtx(r)
		defer cancel()
		s.rtCall("RT.Get", func() {
			v, st, err := rt.Get(ctx, k)
			s.rtOutcome("RT.Get", k, v, st, err)
		})
	case op < 76:
		s.n.add("op.RT.GetStale", 1)
		ctx, cancel := s.callerCtx(r)
		defer cancel()
		s.rtCall("RT.GetStale", func() {
			v, st, err := rt.GetStale(ctx, k, 20*time.Millisecond)
			s.rtOutcome("RT.GetStale", k, v, st.Status, err)
		})
	case op < 82:
		s.n.add("op.RT.GetStaleWhileUpdate", 1)
		ctx, cancel := s.callerCtx(r)
		defer cancel()
		s.rtCall("RT.GetStaleWhileUpdate", func() {
			v, st, err := rt.GetStaleWhileUpdate(ctx, k, 20*time.Millisecond)
			s.rtOutcome("RT.GetStaleWhileUpdate", k, v, st.Status, err)
		})
	case op < 86:
		s.n.add("op.RT.MultiGet", 1)
		keys := make([]string, 1+r.IntN(6))
		for i := range keys {
			keys[i] = s.key(r)
		}
		ctx, cancel := s.callerCtx(r)
		defer cancel()
		s.rtCall("RT.MultiGet", func() {
			res, err := rt.MultiGet(ctx, keys)
			if len(res) != len(keys) {
				s.errorf("MultiGet of %d keys returned %d results", len(keys), len(res))
				return
			}
			first := error(nil)
			for i, x := range res {
				s.rtOutcome("RT.MultiGet", keys[i], x.Value, x.Status, x.Err)
				if first == nil {
					first = x.Err
				}
			}
			if err != first {
				s.errorf("MultiGet returned %v, want the first key's error %v", err, first)
			}
		})
	case op < 92:
		s.n.add("op.RT.Set", 1)
		v := s.value(r, k, 0)
		if ok := rt.Set(k, v, time.Duration(r.IntN(40))*time.Millisecond); !storedAsItMay(soakWeight(v), ok) {
			s.errorf("RT.Set(%s) of weight %d returned %v", k, soakWeight(v), ok)
		}
		s.checkBound("RT.Set")
	case op < 96:
		s.n.add("op.RT.Delete", 1)
		if v, ok := rt.Delete(k); ok {
			s.check("RT.Delete", k, v)
		}
	default:
		s.n.add("op.RT.Invalidate", 1)
		rt.Invalidate(k)
	}
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	for range 2 { // the second GC also frees what the first one's finalizers let go
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak runs the mixed workload for the soak duration, then checks what
// the public API can see: the weight bound, All against Len and Weight,
// Stats against the OnEvict calls, RTStats against the loads the origin
// saw, no goroutine left, and the heap back near its level after Clear.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	ignore := goleak.IgnoreCurrent()
	s := &soak{t: t, clock: &soakClock{}, release: make(chan struct{}), n: soakCounts{n: map[string]*atomic.Int64{}}}
	s.clock.ns.Store(int64(time.Hour))
	for i := range soakKeys {
		s.keys = append(s.keys, fmt.Sprint("k", i))
	}
	for i := range s.owned {
		s.owned[i].name = fmt.Sprint("k", soakKeys+i)
	}
	var err error
	s.c, err = ufocache.New(ufocache.Options[string, soakValue]{
		MaxWeight:   soakMaxWeight,
		Shards:      soakShards,
		Weigher:     soakWeigher,
		DefaultTTL:  30 * time.Millisecond,
		KeepExpired: 10 * time.Millisecond,
		Clock:       s.clock,
		RecordStats: true,
		OnEvict: func(k string, v soakValue, r ufocache.EvictReason) {
			s.evicted[r].Add(1)
			if v.key != keyIndex(k) {
				s.errorf("OnEvict(%s) with the value of k%d", k, v.key)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.rt, err = ufocache.NewRTCache(s.c, s.loader, ufocache.RTOptions[string, soakValue]{
		LockAge:      15 * time.Millisecond,
		LockTimeout:  10 * time.Millisecond,
		LoadTimeout:  soakLoadTimeout,
		ErrorTTL:     2 * time.Millisecond,
		MaxErrors:    64,
		RefreshAhead: 3 * time.Millisecond,
		MaxRefreshes: 8,
		BatchLoader:  s.batchLoader,
	})
	if err != nil {
		t.Fatal(err)
	}
	base := heapInUse()

	// Many workers: read-through callers spend much of their time waiting
	// for slow and hung loads.
	workers := 4*runtime.GOMAXPROCS(0) + 8
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var total atomic.Int64
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				if i%64 == 0 && (time.Now().After(deadline) || s.bad.Load() > 10) {
					total.Add(int64(i))
					return
				}
				s.step(r)
			}
		})
	}
	wg.Wait()
	close(s.release) // hung loads return
	s.checkQuiet(ignore, 30*time.Second)

	t.Logf("soak: %v, %d workers, %d operations, %d loads (%d batch calls of %d keys)%v",
		d, workers, total.Load(), s.n.get("load.calls"), s.n.get("batch.calls"), s.n.get("batch.keys"), &s.n)
	s.checkAccounting()
	if err := s.c.SetMaxWeight(soakMaxWeight); err != nil { // the heap check fills the whole bound
		t.Fatal(err)
	}
	s.checkHeapAfterClear(base)
}

// checkQuiet checks that no load holds its key and no goroutine is left
// but those ignore names. Background loads (refreshes, loads whose
// callers left, loads past their timeout) finish on their own once
// released: it waits for the last, up to within, a generous bound that
// only a leak reaches. The bound is in wall time: while a goroutine
// leaks, each goleak.Find retries for over a second, and 300 rounds of
// it took 3-5 minutes to fail.
func (s *soak) checkQuiet(ignore goleak.Option, within time.Duration) {
	for wait := time.Now().Add(within); s.rt.InFlight() > 0 || goleak.Find(ignore) != nil; {
		if time.Now().After(wait) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := s.rt.InFlight(); n != 0 {
		s.t.Errorf("%d loads still hold their key after the soak", n)
	}
	goleak.VerifyNone(s.t, ignore)
}

// checkAccounting compares, after the soak, what the public API reports.
func (s *soak) checkAccounting() {
	t, c := s.t, s.c
	s.checkBound("the soak")
	c.DeleteExpired()
	// The clock no longer moves. The key space is known, so GetStale finds
	// every entry, expired ones kept for stale reads included: they must
	// add up to Len and Weight exactly, and All must yield the live ones.
	var count, live int
	var weight int64
	fresh := map[string]soakValue{}
	keys := slices.Clone(s.keys)
	for i := range s.owned {
		keys = append(keys, s.owned[i].name)
	}
	for _, k := range keys {
		v, _, ok := c.GetStale(k)
		if !ok {
			continue
		}
		s.check("GetStale", k, v)
		count++
		weight += soakWeight(v)
		// Not staleFor == 0: an entry that expired this very nanosecond
		// is expired with staleFor 0.
		if _, st := c.GetWithStatus(k); st == ufocache.Hit {
			live++
			fresh[k] = v
		}
	}
	st := c.Stats()
	if count != c.Len() || weight != c.Weight() || st.Len != count || st.Weight != weight {
		t.Errorf("the entries found weigh %d and count %d; Len %d, Weight %d; Stats %+v", weight, count, c.Len(), c.Weight(), st)
	}
	yielded := 0
	for k, v := range c.All() {
		s.check("All", k, v)
		if w, ok := fresh[k]; !ok || w.weight != v.weight {
			t.Errorf("All yielded %s, which is not a live entry", k)
		}
		yielded++
	}
	if yielded != live {
		t.Errorf("All yielded %d entries; %d are live", yielded, live)
	}
	ev := func(r ufocache.EvictReason) uint64 { return uint64(s.evicted[r].Load()) }
	left := ev(ufocache.EvictCapacity) + ev(ufocache.EvictExpired) + ev(ufocache.EvictDeleted) + ev(ufocache.EvictReplaced)
	if st.Sets != uint64(st.Len)+left {
		t.Errorf("Stats.Sets %d, but %d entries are present and OnEvict saw %d leave", st.Sets, st.Len, left)
	}
	// OnEvict's rejected values are the Sets declined and the loaded
	// values no store took.
	dropped := s.rt.Stats().Dropped
	if st.Rejections+dropped != ev(ufocache.EvictRejected) || st.Evictions != ev(ufocache.EvictCapacity) || st.Expirations != ev(ufocache.EvictExpired) {
		t.Errorf("Stats %+v, RTStats.Dropped %d; OnEvict saw %d rejected, %d evicted, %d expired",
			st, dropped, ev(ufocache.EvictRejected), ev(ufocache.EvictCapacity), ev(ufocache.EvictExpired))
	}
	if st.Hits == 0 || st.Misses == 0 || st.Evictions == 0 || st.Expirations == 0 || st.Rejections == 0 {
		t.Errorf("Stats %+v: the soak did not exercise hits, misses, evictions, expiry and rejection", st)
	}
	rs := s.rt.Stats()
	loads := s.n.get("load.calls") + s.n.get("batch.keys")
	failures := s.n.get("load.failures") + s.n.get("batch.failures")
	late := s.n.get("load.late") // successes at the edge of LoadTimeout, which count as failed if it fired first
	if rs.Loads != uint64(loads) || rs.LoadErrors < uint64(failures) || rs.LoadErrors > uint64(failures+late) || rs.Batches != uint64(s.n.get("batch.calls")) {
		t.Errorf("RTStats %+v; the origin saw %d loads, %d failed, %d more at the edge of LoadTimeout, %d batches", rs, loads, failures, late, s.n.get("batch.calls"))
	}
	if rs.Misses == 0 || rs.LockHits == 0 || rs.Stale == 0 || rs.Refreshes == 0 || rs.ErrorHits == 0 {
		t.Errorf("RTStats %+v: the soak did not exercise misses, lock hits, stale reads, refreshes and cached errors", rs)
	}
	t.Logf("cache stats %+v\nrtcache stats %+v", st, rs)
}

// checkHeapAfterClear fills the cache with large values, clears it, and
// checks that the heap comes back near where it was before the soak.
func (s *soak) checkHeapAfterClear(base uint64) {
	t, c := s.t, s.c
	// Every soak entry has a TTL: an hour later DeleteExpired empties the
	// cache, so that the large values below are all admitted.
	s.clock.ns.Add(int64(time.Hour))
	c.DeleteExpired()
	if c.Len() != 0 || c.Weight() != 0 {
		t.Errorf("an hour after the soak, DeleteExpired left %d entries weighing %d", c.Len(), c.Weight())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; c.Weight() < soakMaxWeight*9/10 && i < len(s.keys); i++ {
		k := s.keys[i]
		v := s.value(r, k, 2048) // 2 KiB per unit of weight: about 16 MiB when full
		c.SetWithTTL(k, v, ufocache.NoExpiration)
	}
	full := heapInUse()
	c.Clear()
	after := heapInUse()
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("heap: %.1f MiB before the soak, %.1f MiB with the cache full, %.1f MiB after Clear", mib(base), mib(full), mib(after))
	if full < base+4<<20 {
		t.Fatalf("the filled cache added only %.1f MiB: the heap check would prove nothing", mib(full-base))
	}
	if slack := (full - base) / 2; after > base+slack {
		t.Errorf("after Clear the heap is %.1f MiB, %.1f MiB above its level before the soak (allowed %.1f)",
			mib(after), mib(after-base), mib(slack))
	}
	if c.Len() != 0 || c.Weight() != 0 {
		t.Errorf("after Clear: Len %d, Weight %d", c.Len(), c.Weight())
	}
	runtime.KeepAlive(s.rt)
}
