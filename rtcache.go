package ufocache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache/coalesce"
	"github.com/ufocache/ufocache/internal/hashing"
	"github.com/ufocache/ufocache/shard"
)

// RTCache is a read-through layer over a Cache: a Get of a key that is not
// in the cache loads it from the origin with the Loader, stores it, and
// returns it. Concurrent callers of one missing key share one load, whatever
// happens to it: they share its value, or its error, or its panic (as a
// *PanicError), so a stampede on a cold or expired key reaches the origin
// once. Create it with NewRTCache; all methods are safe for concurrent use.
//
// # Loads
//
// The first caller of a missing key starts a load; it runs on a goroutine
// of its own (on the caller's, if the caller's ctx cannot end and there is
// no LoadTimeout) with a context that keeps the caller's values (trace IDs,
// credentials) but not its cancellation, so a caller that leaves does not
// cancel the load for the others. Each caller waits for the load, for its
// own ctx, or, if another caller started the load, for
// RTOptions.LockTimeout, whichever comes first. A load that succeeds is
// stored before any waiter wakes; a caller that missed the cache just before
// the store and starts a load of its own finds the value when it looks at
// the cache again, and does not load it twice. The key is free again the
// moment the load finishes, however it finishes: with a value, an error, a
// panic, runtime.Goexit or the load timeout.
//
// # Time
//
// The TTLs of entries and of cached errors, staleness and RefreshAhead are
// measured with the Cache's clock (Options.Clock, or the coarse clock).
// LockAge, LockTimeout, LoadTimeout and load time are measured with package
// time, so tests make them deterministic with testing/synctest.
//
// # Statuses
//
// Every lookup returns a Status: Hit (served from the cache, without
// waiting), Miss or Expired (this caller started the load, or would have
// but its ctx ended first, in a MultiGet; the key was absent, or present
// but expired), LockHit (this caller waited for another
// caller's load, or took what one had just stored rather than start its
// own) or Stale (see GetStale and GetStaleWhileUpdate). A Hit with a
// non-nil error is a cached load error (RTOptions.ErrorTTL). A LockHit
// with one is the other load's error (or a cached one, stored just as this
// lookup was about to load), or says that this caller stopped waiting for
// that load: ErrLockTimeout, ErrLoadCycle, or its ctx's error.
type RTCache[K comparable, V any] struct {
	c     *Cache[K, V]
	load  Loader[K, V]
	batch BatchLoader[K, V]
	group *coalesce.Group[K, loaded[V]]

	// errs holds the cached load errors: made by NewRTCache where
	// ErrorTTL > 0, else by the first load whose error ErrorWithTTL gave
	// a time (nil until then); maxErrs is its bound.
	errs    atomic.Pointer[Cache[K, error]]
	maxErrs int64
	errTTL  time.Duration
	// timeoutTTL is RTOptions.LoadTimeoutTTL.
	timeoutTTL time.Duration

	plain        bool // no hit counter, no RefreshAhead: Get's fast path
	refreshAhead time.Duration
	maxRefresh   int64
	refreshing   atomic.Int64 // background loads in flight
	maxEach      int          // MaxMultiLoads
	maxBatch     int          // MaxBatch; 0: none

	st rtCounters
}

// Loader loads the value of key from the origin and returns it with the
// TTL to store it for, counted from the moment the Loader returns (0: the
// Cache's DefaultTTL; NoExpiration: forever; a
// negative TTL: return the value to the callers waiting for it, store
// nothing, and remove any older (stale) value of key, as SetWithTTL with a
// negative ttl does: OnEvict sees the old value EvictReplaced and the
// loaded one EvictRejected). Every caller that joined the load gets its
// value, whatever its TTL: a negative TTL keeps a value out of the cache,
// not from them, so an answer meant for the caller that started the load
// alone (an HTTP response marked private, or with a Set-Cookie) must not
// be the value. The callers wake once the value is stored and OnEvict has
// heard of the entries its store displaced: a slow OnEvict delays them.
// State reaches it through its closure, never through globals.
//
// An origin's TTL of 0 means "do not keep" (a DNS record with TTL 0, an
// HTTP max-age=0), but a Loader's 0 means DefaultTTL, which is forever
// when the Cache has none: a Loader passing an origin's TTL on turns 0
// into a negative TTL. So does one taking the least of several TTLs read
// with GetWithTTL (a CNAME's and its target's), which gives 0 for a value
// that expired meanwhile. ErrorWithTTL's 0 likewise means ErrorTTL.
//
// ctx keeps the values of the context of the caller that started the load,
// not its cancellation (a Get whose ctx has already ended still starts the
// load, which stores its value, and returns that ctx's error, or the
// value if the load finished before the Get came to wait for it: a
// finished load wins, as a hit would); it ends after
// RTOptions.LoadTimeout. Any value is stored, a nil or zero one
// included: to store nothing return a negative TTL. A key the origin
// does not have (a 404, NXDOMAIN, a row that is not there) may be
// remembered either way: as an error with RTOptions.ErrorTTL (for a time
// of the origin's, ErrorWithTTL; the TTL returned with an error is not the
// error's: a Loader may well return both from one fetch), which counts in
// LoadErrors and ErrorHits, shares MaxErrors with failures, fails a
// MultiGet's err, is served stale over (GetStale), and leaves a live value
// in place when a refresh finds the key gone; or as a value that says
// "absent", with a short TTL, which replaces the old value at once and is
// a hit. A value
// returned with a non-nil error is not stored; the callers of that load
// get it with the error, as the Loader gave it (a cached error comes with
// V's zero value), and OnEvict is not told of it. A value returned without
// an error is stored, or told to OnEvict as EvictRejected: a negative or
// too heavy one, one whose load a write detached, one past LoadTimeout,
// one a newer load's stored value superseded after LockAge (a value that
// holds a connection is then released exactly once, by OnEvict, while
// the load's callers may still be using it:
// TestRTDroppedLoadsReachOnEvict). A Loader may call its RTCache for
// other keys (a resolver chasing a CNAME), with its ctx: a call that
// would wait for a load waiting for it (its own key, or a loop of keys whose Loaders ask
// for each other, also when their loads were started by different
// callers) returns ErrLoadCycle at once, where it would have waited for
// ever (or until LockTimeout). With a ctx not derived from the Loader's,
// the cache cannot tell: such a call waits as any caller does. A Loader
// may also write other keys (RTCache.Set, a Vary'd response stored under
// the key it names); such a write is the Loader's own, not its load's: a
// write of its key made meanwhile does not undo it. Every
// lookup made with the Loader's ctx, on any goroutine, counts as the
// Loader waiting: work the Loader starts and does not wait for (a
// goroutine prefetching another key) takes OutsideLoad(ctx), or a load
// that waits for this one may get ErrLoadCycle through that work's waits
// when no load waits for it. A Loader may
// panic or call runtime.Goexit: the key is released, the callers waiting
// get a *PanicError or ErrGoexit, and the caller that started the load, if
// it still waits, panics again with the *PanicError.
//
// The load runs on a goroutine of its own, so that the caller that started
// it can leave; a caller that cannot leave (ctx.Done() is nil, as for
// context.Background) with no LoadTimeout runs it on its own goroutine,
// which saves a goroutine start and a wake-up per miss. A Goexit in the
// Loader then ends that caller's goroutine, as if it had called the Loader
// itself; the other callers still get ErrGoexit.
type Loader[K comparable, V any] func(ctx context.Context, key K) (V, time.Duration, error)

// BatchLoader loads several keys in one call, for MultiGet. It returns one
// Loaded per key, in the order of keys, or an error that fails all of them.
// keys is its own: it may keep or change the slice. It is given every miss
// of the MultiGet that no other load has in flight, up to
// RTOptions.MaxBatch of them (with none, however many), so that an origin
// that bounds a query (a SQL IN list, an API page) is asked in parts, each
// a load of its own; a BatchLoader that splits a call itself runs the
// parts on goroutines whose panics the cache does not catch. The same contract as Loader applies to ctx, panics and
// Goexit, and to the values it returns: each Loaded with a nil Err is
// stored or told to OnEvict as EvictRejected (TestRTDroppedLoadsReachOnEvict).
// But values returned with a non-nil error, or in a result of the wrong
// length (ErrBatchSize: a query that returned only the rows it found),
// match no keys: none is stored or told, and releasing them is the
// BatchLoader's. MultiGet's hits inside the RefreshAhead window are refreshed with
// one BatchLoader call in the background
// (TestRTMultiGetRefreshesItsHitsInOneBatch); the other refreshes (Get's,
// GetStaleWhileUpdate's, Refresh's) use the Loader, one key per call.
type BatchLoader[K comparable, V any] func(ctx context.Context, keys []K) ([]Loaded[V], error)

// Loaded is one key's result from a BatchLoader.
type Loaded[V any] struct {
	Value V
	// TTL is as in Loader.
	TTL time.Duration
	// Err fails this key only (ErrorWithTTL: kept for a time of its own).
	Err error
}

// RTOptions configures an RTCache. The zero value of each field means its
// documented default; negative values are errors.
type RTOptions[K comparable, V any] struct {
	// LockAge is how long a load holds its key. Callers that arrive after a
	// load has run this long start a new load (one, shared as usual),
	// instead of joining the old one: a hung origin request does not hold
	// a key forever. The old load goes on for the callers already waiting
	// for it. Its value is still stored if it comes while a newer load of
	// the key runs and before any newer one stored its own (no write of
	// the key came between: a write ends that), so an origin that is
	// slower than LockAge still gets its answers kept, and callers hit
	// from the first one on, rather than start a load every LockAge
	// (TestRTOriginSlowerThanLockAgeGetsItsAnswersKept); its error is not
	// kept. It is not cancelled: pair LockAge with a LoadTimeout, or a
	// Loader that never returns keeps its goroutine while another starts
	// every LockAge. LockAge belongs above the origin's slowest normal
	// answer: each load past it costs the origin one more. 0: a load
	// holds its key until it finishes. (After Close, whatever its age:
	// callers join it, since no load could start.)
	LockAge time.Duration
	// LockTimeout is how long a caller waits for a load that another caller
	// started. Past it the caller gives up with ErrLockTimeout: it does not
	// load on its own (that would be the stampede the lock prevents), and
	// nothing is stored for it; the load goes on and stores its result for
	// the next caller. The caller that started a load is bounded by its ctx
	// and LoadTimeout instead. 0: wait until the load finishes or ctx ends.
	LockTimeout time.Duration
	// LoadTimeout bounds each load: its ctx ends after this, and if the
	// Loader has not returned by then, every caller waiting for it gets
	// ErrLoadTimeout and the key is free at once; a late result is dropped
	// (a value, told to OnEvict as EvictRejected). 0: no bound.
	LoadTimeout time.Duration
	// LoadTimeoutTTL is how long ErrLoadTimeout is kept for its key, as
	// ErrorWithTTL's ttl is for a Loader's error: 0 is ErrorTTL, a
	// negative one keeps it nowhere (the next lookup asks the origin
	// again: a timeout that says more about this load than about the key),
	// NoExpiration until a write of the key. Whatever the Loader returns
	// after the timeout is dropped, ErrorWithTTL included. (An
	// ErrLoadTimeout the Loader returns, a nested RTCache's, is its own
	// error, kept as any other.)
	LoadTimeoutTTL time.Duration
	// ErrorTTL, if > 0, caches failed loads (negative caching), whatever
	// failed them: the Loader's error, a panic (its *PanicError, which
	// later lookups get as an error, not a panic), ErrGoexit or
	// ErrLoadTimeout (kept for LoadTimeoutTTL, whose 0 is ErrorTTL). For this
	// long after a load of a key fails, a lookup of that key that would
	// load returns the same error at once, with Status Hit (LockHit if the
	// error was cached just as it was about to load), and the origin
	// is not asked again. A stale value within its allowance is still
	// served. A failed background load (RefreshAhead's,
	// GetStaleWhileUpdate's) is cached the same way, unseen by any caller:
	// it holds off further refreshes of the key, and once the value it was
	// to replace expires, lookups get the error until ErrorTTL has passed.
	// Set, Compute, Delete, Invalidate and Clear clear cached errors. A
	// Loader gives an error a time of its own with ErrorWithTTL (none, for
	// a failure not to hold against the key). GetWithTTL returns, with an
	// error, the time the key's cached error has left.
	// 0: a load's error is cached only if its Loader gave it a time with
	// ErrorWithTTL, or, for ErrLoadTimeout, LoadTimeoutTTL did.
	ErrorTTL time.Duration
	// MaxErrors bounds how many errors are cached; they live in a small
	// Cache of their own, made at NewRTCache if ErrorTTL > 0, else by the
	// first error ErrorWithTTL or LoadTimeoutTTL keeps. 0: 1024.
	MaxErrors int
	// RefreshAhead, if > 0, makes a lookup that hits a value with less
	// than this left to live start a background refresh of it (one per
	// key at a time, as GetStaleWhileUpdate's; see MaxRefreshes) and
	// return the value at once, so that keys read near their expiry are
	// reloaded before it and no caller waits for them. Nothing measures
	// how hot a key is: one hit inside the window is enough, so a key
	// read once there costs a load. It should be well below the TTLs: a value the Loader gave
	// less than RefreshAhead to live is within it from the start, and
	// each hit then starts a refresh as soon as the last one finished.
	// So does each hit after a failed refresh, unless ErrorTTL (or the
	// Loader's ErrorWithTTL) keeps its error: against an origin that
	// fails fast, a hot key without either asks it again as soon as each
	// refresh fails (one at a time per key), so set ErrorTTL to space
	// them. A
	// caller that found no value still takes such a value when a load of
	// another caller has just stored it, rather than load it again.
	// 0: no refresh ahead.
	RefreshAhead time.Duration
	// MaxRefreshes bounds the background loads (GetStaleWhileUpdate,
	// RefreshAhead, Refresh) in flight at once, over all keys. When it is
	// reached, a stale value is still served and a later read tries
	// again (Refresh returns false). A
	// refresh holds its place until its Loader returns, even past
	// LoadTimeout (which frees its key at once): a Loader that ignores its
	// ctx then costs a place rather than one more goroutine per key each
	// LoadTimeout, and MaxRefreshes such hung loads stop the refreshes
	// until one returns. 0: 64.
	MaxRefreshes int
	// BatchLoader, if set, loads MultiGet's misses in one call. Without it,
	// MultiGet loads each missing key with the Loader, concurrently (see
	// MaxMultiLoads), as Get would: each with its own LoadTimeout, stored
	// as soon as it loads.
	BatchLoader BatchLoader[K, V]
	// MaxMultiLoads bounds how many of one MultiGet's missing keys it
	// loads at once without a BatchLoader (with one and MaxBatch, how many
	// of its parts), on as many goroutines: a
	// MultiGet of a million missing keys otherwise asked the origin for
	// all of them at once, from two million goroutines. A key whose load
	// another caller has in flight takes a place too while it waits for
	// it (up to LockTimeout), and a load past its LoadTimeout gives its
	// place up although its Loader may still run (a Loader should honour
	// its ctx). Keys not yet taken when the MultiGet's ctx ends fail with
	// its error and start no load. 0: 64.
	MaxMultiLoads int
	// MaxBatch bounds the keys of one BatchLoader call, for an origin that
	// bounds a query (a SQL IN list, an API page). A MultiGet with more
	// misses loads them in parts of MaxBatch keys, in order, up to
	// MaxMultiLoads parts at once: each part is a load of its own, its keys
	// stored and free as it returns, each bounded by LoadTimeout; if one
	// part's BatchLoader call panics, MultiGet panics once every part has
	// ended. MultiGet's refresh of its hits likewise refreshes them in
	// parts, each holding a place of MaxRefreshes. 0: no bound.
	MaxBatch int
}

// OutsideLoad returns ctx, its values, deadline and cancellation kept, for
// a lookup that its Loader does not wait for: a goroutine the Loader
// starts to prefetch another key and leaves running. Such a lookup waits
// as a caller from outside does: it neither gets ErrLoadCycle nor makes
// another lookup get it (see Loader).
func OutsideLoad(ctx context.Context) context.Context { return coalesce.Outside(ctx) }

// Errors a lookup can return besides the Loader's own.
var (
	// ErrLockTimeout: the caller waited RTOptions.LockTimeout for another
	// caller's load.
	ErrLockTimeout = coalesce.ErrLockTimeout
	// ErrLoadTimeout: the load ran longer than RTOptions.LoadTimeout.
	ErrLoadTimeout = coalesce.ErrLoadTimeout
	// ErrLoadCycle: a lookup made inside a Loader (with its ctx, or one
	// derived from it) would have waited for a load that waits for that
	// Loader: its own key, or a cycle of keys whose Loaders ask for each
	// other (a CNAME loop), through any RTCaches. It returns at once
	// instead of waiting for ever (or until LockTimeout). The lookup's
	// Loader decides what its own load then gives.
	ErrLoadCycle = coalesce.ErrCycle
	// ErrGoexit: the Loader called runtime.Goexit.
	ErrGoexit = coalesce.ErrGoexit
	// ErrBatchSize (wrapped, with the counts): the BatchLoader returned a
	// number of results other than the number of keys.
	ErrBatchSize = coalesce.ErrBatchSize
	// ErrClosed: the lookup would have started a load after Close.
	ErrClosed = coalesce.ErrClosed
)

// PanicError is the error of a load whose Loader panicked: the panic value
// and the stack it was raised on. The caller that started the load panics
// again with it, if it still waits; the other callers get it as an error.
// Its Error includes the stack: a server should log it, not send it to a
// client.
type PanicError = coalesce.PanicError

// StaleStatus is the status of GetStale and GetStaleWhileUpdate.
type StaleStatus struct {
	Status
	// StaleFor is, with Status Stale, how long ago the value expired: at
	// least 1ns (a value expiring this very nanosecond, as Invalidate
	// leaves one, is stale), as Cache.GetStale reports it.
	StaleFor time.Duration
	// TTL is, with any other Status, what GetWithTTL would report with
	// it: the time the value has left to live (a DNS answer's TTL), or
	// with an error the time the key's cached error has left. 0 for a
	// stale value.
	TTL time.Duration
}

// String gives the Status with the duration that goes with it: "stale
// (for 3s)", or "hit (ttl 1m0s)" (Status's own String alone, which fmt
// would otherwise use, hides them).
func (s StaleStatus) String() string {
	if s.Status == Stale {
		return fmt.Sprintf("%v (for %v)", s.Status, s.StaleFor)
	}
	return fmt.Sprintf("%v (ttl %v)", s.Status, s.TTL)
}

// RTResult is one key's answer from MultiGet.
type RTResult[V any] struct {
	Value  V
	Status Status
	// Err is this key's error; the other keys stand.
	Err error
	// TTL is the time the value has left, as GetWithTTL reports it (a
	// hit's time left, NoExpiration if none; a loaded value's TTL less
	// the time since its Loader returned): a batch endpoint's max-age per
	// key. With an Err, it is the time the key's cached error has left (0
	// if none is kept).
	TTL time.Duration
}

// RTStats is a snapshot of an RTCache's counters.
type RTStats struct {
	// Hits counts lookups answered with a fresh value from the cache. It
	// is counted only if the Cache was created with RecordStats, as it is
	// a write on every hit.
	Hits uint64
	// Misses counts lookups that started a load (their Status is Miss or
	// Expired, but for GetStale: see below); LockHits, lookups that waited
	// for another caller's load (Status LockHit: it answered them, or they
	// stopped waiting for it); Stale, stale values served; ErrorHits,
	// lookups that found a cached load error and so did not load. A stale
	// value served over a cached error counts in both Stale and ErrorHits
	// (GetStale, or GetStaleWhileUpdate, which then does not refresh). A
	// GetStale whose load (its own or another's) failed counts in Misses
	// or LockHits all the same, and returns a stale value (also counted in
	// Stale) or the fresh one stored meanwhile (Status Hit).
	Misses, LockHits, Stale, ErrorHits uint64
	// Loads counts keys loaded from the origin (a batch of n keys counts
	// n), once each load has ended or timed out; LoadErrors, the loads
	// whose callers got an error (the loader's, a panic, Goexit or
	// ErrLoadTimeout: a load still running at its LoadTimeout counts as
	// failed then, whatever it returns later). A load in flight counts in
	// neither yet; a load that ended is counted before its value is stored
	// and its key freed, so a snapshot taken after its value was read, or
	// after InFlight dropped, includes it (a background refresh too).
	Loads, LoadErrors uint64
	// Batches counts BatchLoader calls; Refreshes, background loads started
	// (a background BatchLoader call of n keys counts n).
	Batches, Refreshes uint64
	// LoadTime is the total time spent in Loader and BatchLoader calls.
	LoadTime time.Duration
	// Dropped counts values loaded without an error that no store took:
	// a write detached the load, it came past LoadTimeout, or a newer
	// load stored first after LockAge. OnEvict heard of each as
	// EvictRejected (counted before it is called), which Stats.Rejections,
	// a count of Sets declined, leaves out.
	Dropped uint64
}

type rtCounters struct {
	hits                                  *xsync.Counter // nil unless the Cache records stats
	misses, lockHits, stale, errorHits    atomic.Uint64
	loads, loadErrors, batches, refreshes atomic.Uint64
	dropped                               atomic.Uint64
	loadTime                              atomic.Int64
}

// loaded is a load's outcome inside the wait map.
type loaded[V any] struct {
	val V
	// expire is val's expiry as Cache.expiry gives it for the Loader's TTL,
	// counted from the moment the load returned (0: never; -1: not to be
	// stored); the value a recheck found carries its entry's.
	expire, at int64  // at: the time expire was counted from
	w          uint32 // val's weight, computed before the store takes any lock
	// ran says that a Loader or BatchLoader gave this outcome (a value
	// or an error, or the kept error a recheck found), as opposed to a
	// recheck's value, a timeout, or Close's
	// refusal: a Loader's own ErrClosed (from another RTCache, closed) is
	// a load's error, not a refusal.
	ran bool
	// errTTL is, for a failed load, how long to keep its error as
	// ErrorWithTTL gave it (0: RTOptions.ErrorTTL).
	errTTL time.Duration
}

// ErrorWithTTL wraps a Loader's (or a BatchLoader's, or one key's
// Loaded.Err) error so that the RTCache keeps it for ttl rather than for
// RTOptions.ErrorTTL: an origin's own word on how long a failure holds (a
// DNS server's negative-caching TTL, an HTTP Retry-After). A negative ttl
// keeps it nowhere (a failure not to hold against the key, a timeout of
// the Loader's own deadline say: a load that RTOptions.LoadTimeout ends
// fails with ErrLoadTimeout, which ErrorTTL (or LoadTimeoutTTL) keeps whatever the Loader
// returns, TestRTLoadTimeoutIsKeptWhateverTheLoaderSays); 0 is
// ErrorTTL; NoExpiration keeps it until a write of the key, Clear or
// MaxErrors drops it. It takes effect without ErrorTTL too
// (where 0 then keeps the error nowhere). The callers get err
// itself, unwrapped, and so does RTCache.GetWithTTL, with the time left.
// A kept error is a failed load to GetStale and GetStaleWhileUpdate,
// which serve a stale value over it: a negative answer that must not be
// answered stale over (an authoritative NXDOMAIN) is better a value.
// A nil err stays nil.
func ErrorWithTTL(err error, ttl time.Duration) error {
	if err == nil {
		return nil
	}
	return &ttlError{err, ttl}
}

// ttlError is ErrorWithTTL's wrapper, removed before any caller sees the
// error.
type ttlError struct {
	err error
	ttl time.Duration
}

func (e *ttlError) Error() string { return e.err.Error() }
func (e *ttlError) Unwrap() error { return e.err }

// errorTTL unwraps what ErrorWithTTL wrapped: the error and the TTL to
// keep it for (0: ErrorTTL). An error that wraps a ttlError deeper (a
// Loader's fmt.Errorf("...: %w", ErrorWithTTL(...))) keeps its own text
// and gets the TTL.
func errorTTL(err error) (time.Duration, error) {
	if te, ok := err.(*ttlError); ok {
		return te.ttl, te.err
	}
	var te *ttlError
	if errors.As(err, &te) {
		return te.ttl, err
	}
	return 0, err
}

// NewRTCache returns a read-through cache that stores in c and loads with
// load. c may still be used directly: its Set, Compute and Delete are not
// ordered with loads in flight, RTCache's are.
func NewRTCache[K comparable, V any](c *Cache[K, V], load Loader[K, V], opts RTOptions[K, V]) (*RTCache[K, V], error) {
	switch {
	case c == nil:
		return nil, errors.New("ufocache: NewRTCache needs a Cache, got nil")
	case load == nil:
		return nil, errors.New("ufocache: Loader must not be nil")
	case opts.LockAge < 0:
		return nil, errors.New("ufocache: LockAge must be >= 0 (0 means no limit)")
	case opts.LockTimeout < 0:
		return nil, errors.New("ufocache: LockTimeout must be >= 0 (0 means no limit)")
	case opts.LoadTimeout < 0:
		return nil, errors.New("ufocache: LoadTimeout must be >= 0 (0 means no limit)")
	case opts.ErrorTTL < 0:
		return nil, errors.New("ufocache: ErrorTTL must be >= 0 (0 means only errors given a time by ErrorWithTTL are cached)")
	case opts.MaxErrors < 0:
		return nil, errors.New("ufocache: MaxErrors must be >= 0 (0 means 1024)")
	case opts.RefreshAhead < 0:
		return nil, errors.New("ufocache: RefreshAhead must be >= 0 (0 means none)")
	case opts.MaxRefreshes < 0:
		return nil, errors.New("ufocache: MaxRefreshes must be >= 0 (0 means 64)")
	case opts.MaxMultiLoads < 0:
		return nil, errors.New("ufocache: MaxMultiLoads must be >= 0 (0 means 64)")
	case opts.MaxBatch < 0:
		return nil, errors.New("ufocache: MaxBatch must be >= 0 (0 means no bound)")
	}
	rt := &RTCache[K, V]{
		c:            c,
		load:         load,
		batch:        opts.BatchLoader,
		errTTL:       opts.ErrorTTL,
		timeoutTTL:   opts.LoadTimeoutTTL,
		refreshAhead: opts.RefreshAhead,
		maxRefresh:   int64(opts.MaxRefreshes),
		maxEach:      opts.MaxMultiLoads,
		maxBatch:     opts.MaxBatch,
	}
	if rt.maxRefresh == 0 {
		rt.maxRefresh = 64
	}
	if rt.maxEach == 0 {
		rt.maxEach = 64
	}
	if c.hits != nil {
		rt.st.hits = xsync.NewCounter()
	}
	rt.plain = rt.st.hits == nil && rt.refreshAhead == 0
	rt.maxErrs = int64(cmp.Or(opts.MaxErrors, 1024))
	if opts.ErrorTTL > 0 {
		if _, err := rt.keepErrors(); err != nil {
			return nil, err
		}
	}
	g, err := coalesce.New(coalesce.Options[K, loaded[V]]{
		LockAge:     opts.LockAge,
		LockTimeout: opts.LockTimeout,
		LoadTimeout: opts.LoadTimeout,
		Recheck:     rt.recheck,
		RecheckGo:   rt.recheckRefresh,
		Commit:      rt.commit,
		Finished:    rt.finished,
		Dropped:     rt.dropped,
	})
	if err != nil {
		return nil, err
	}
	rt.group = g
	return rt, nil
}

// Cache returns the Cache the RTCache stores in. Its writes are not
// ordered with the RTCache's loads in flight, and do not touch the cached
// errors: RTCache's Set, Compute, Delete, Invalidate and Clear are, and
// do.
func (rt *RTCache[K, V]) Cache() *Cache[K, V] { return rt.c }

// Get returns the value of k, loading it if it is absent or expired.
// The Status is Hit, Miss, Expired or LockHit. A hit takes no lock and does
// not allocate (k aside: it escapes, as Cache.Get's does; see RTGetBytes),
// unless it falls inside the RefreshAhead window and starts a background
// refresh: that claims k in the wait map, under the lock of k's bucket
// there, which an RTCache write of a key in that bucket (Set, Compute,
// Delete, Invalidate) holds while it stores, so the hit may wait for that
// write.
func (rt *RTCache[K, V]) Get(ctx context.Context, k K) (V, Status, error) {
	// Without stats or RefreshAhead a hit is Cache.Get's hit path, inlined
	// here so that the read-through layer costs one predictable branch,
	// not a call. Keep it in step with Cache.Get.
	if rt.plain {
		c := rt.c
		var h uint64
		if c.hash.Kind == hashing.Word64 {
			h = c.hash.Word(k)
		} else {
			h = c.hash.Sum(k)
		}
		if e := c.shardFor(h).Find(k, h); e != nil && (e.Expire == 0 || c.nowFor(e.Expire) < e.Expire) {
			e.Touch()
			return e.Val, Hit, nil
		}
	}
	return rt.get(ctx, k)
}

// GetWithTTL is Get that also returns how long the value has left to live
// (a DNS answer's remaining TTL, an HTTP max-age), on the Cache's clock as
// Cache.GetWithTTL measures it. For a Hit it is the time its entry has
// left (NoExpiration if none); for a value this call loaded or waited for
// (Miss, Expired, LockHit), the TTL its Loader gave (0: the Cache's
// DefaultTTL) less the time since the Loader returned, whether or not the
// value was stored (a value heavier than a shard's share was not, nor one
// whose load LockAge superseded and a newer load stored or finished first): it is
// what the origin allowed. It is 0
// for a value the Loader gave a negative TTL (use it once, keep it
// nowhere) and for one that expired before this call returned. It is
// exact with Options.Clock; the stored entry's expiry is the same instant,
// so Cache.GetWithTTL of the key agrees. Without one, a loaded value's is
// read on the exact time, so it is never more than the Loader's TTL, nor
// than the time the value has (TestRTGetWithTTLOnTheCoarseClock), where
// Cache.GetWithTTL, and a Hit's, may read up to the coarse clock's lag
// over.
//
// With a non-nil error, it is the time the key's cached load error
// (RTOptions.ErrorTTL, or its own: ErrorWithTTL) has left: how long lookups of the key will fail at
// once without asking the origin (an HTTP Retry-After). For a cached error
// (a Hit) it is that error's, read with it; for a load's error (this
// call's, or one it waited for), the time the key's cached error has left
// when the call returns (read on the exact time, as a loaded value's: a
// lookup after the time reported asks the origin again), that load's,
// unless a write cleared it or another load's replaced it since. It is 0
// where no error of the key is kept
// (ErrorTTL 0 and no time from ErrorWithTTL or LoadTimeoutTTL, MaxErrors
// full, a Set since), and so for an error that is not a load's
// (ErrLockTimeout, ErrLoadCycle, ctx's) unless one was cached meanwhile.
func (rt *RTCache[K, V]) GetWithTTL(ctx context.Context, k K) (V, time.Duration, Status, error) {
	v, st, left := rt.c.lookup(k)
	if st == Hit {
		rt.hit(ctx, k, left)
		return v, left, Hit, nil
	}
	return rt.fetchTTL(ctx, k, st)
}

// fetchTTL is fetch for GetWithTTL: the value with its time left, or the
// error with the time its cached copy has left (a cached error's, read
// with it).
func (rt *RTCache[K, V]) fetchTTL(ctx context.Context, k K, st Status) (V, time.Duration, Status, error) {
	r, errLeft, st, err := rt.fetchLoaded(ctx, k, st)
	switch {
	case err != nil && errLeft == 0: // a load's error: its cached copy, as the call returns
		return r.val, rt.errorLeft(k), st, err
	case err != nil:
		return r.val, errLeft, st, err
	}
	return r.val, rt.valueLeft(r), st, nil
}

// valueLeft is the time a value a lookup loaded, waited for or found on
// its recheck has left, as GetWithTTL reports it.
func (rt *RTCache[K, V]) valueLeft(r loaded[V]) time.Duration {
	return rt.c.leftExact(r.expire)
}

// resultLeft sets o.TTL for a value or error a MultiGet loaded or waited
// for (r, o.Err), as GetWithTTL's would read.
func (rt *RTCache[K, V]) resultLeft(o *RTResult[V], k K, r loaded[V]) {
	if o.Err != nil {
		o.TTL = rt.errorLeft(k)
		return
	}
	o.TTL = rt.valueLeft(r)
}

// errorLeft returns the time k's cached load error has left, 0 if none is
// cached, on the exact clock (as valueLeft). It counts no ErrorHit: the
// caller has its error already.
func (rt *RTCache[K, V]) errorLeft(k K) time.Duration {
	errs := rt.errs.Load()
	if errs == nil {
		return 0
	}
	_, st, _, expire := errs.readExpiry(k, errs.hash.Sum(k), false)
	if st != Hit {
		return 0
	}
	return errs.leftExact(expire)
}

// keepErrors returns the cache of load errors, made at its first need.
// Two loads that fail at once may both make one; the first stored wins.
func (rt *RTCache[K, V]) keepErrors() (*Cache[K, error], error) {
	if errs := rt.errs.Load(); errs != nil {
		return errs, nil
	}
	// The Cache's clock: a bubble's if it reads one (c.clock is then
	// fakedClock), the coarse one if not, even if this RTCache is made
	// in a bubble.
	errs, err := newCache(Options[K, error]{MaxWeight: rt.maxErrs, Clock: rt.c.clock}, false)
	if err != nil {
		return nil, fmt.Errorf("ufocache: error cache: %w", err)
	}
	rt.errs.CompareAndSwap(nil, errs)
	return rt.errs.Load(), nil
}

// RTGetBytes is rt.Get(ctx, K(string(b))) for an RTCache whose keys are
// strings, without the conversion on a hit outside the RefreshAhead
// window: such a hit allocates nothing, whatever the key's length (see
// GetBytes). A miss, an expired entry, a cached error and a hit inside the
// window (which may start a refresh) go on with a copy of the key, one
// allocation, which a load keeps. It only reads b, and only during the
// call.
func RTGetBytes[K ~string, V any](ctx context.Context, rt *RTCache[K, V], b []byte) (V, Status, error) {
	v, _, st, err := rtGetBytes(ctx, rt, b, false)
	return v, st, err
}

// RTGetBytesWithTTL is rt.GetWithTTL(ctx, K(string(b))) as RTGetBytes is
// rt.Get's: a resolver behind a read-through cache looks up the question
// read from the packet (its name's case folded: keys compare byte for
// byte), without allocating on a hit, and answers with the time the record
// has left.
func RTGetBytesWithTTL[K ~string, V any](ctx context.Context, rt *RTCache[K, V], b []byte) (V, time.Duration, Status, error) {
	return rtGetBytes(ctx, rt, b, true)
}

// rtReadBytes is the lookup of the byte-keyed RTCache reads: done says it
// found a hit outside the RefreshAhead window, counted, the whole answer
// (no key converted); otherwise the caller goes on with what it found.
func rtReadBytes[K ~string, V any](rt *RTCache[K, V], b []byte) (v V, st Status, left time.Duration, done bool) {
	k, h := bytesKey(rt.c, b)
	v, st, left = rt.c.read(k, h, true)
	if st == Hit && left >= rt.refreshAhead {
		if rt.st.hits != nil {
			rt.st.hits.Inc()
		}
		return v, st, left, true
	}
	return v, st, left, false
}

// rtGetBytes is RTGetBytes, or RTGetBytesWithTTL if withTTL.
func rtGetBytes[K ~string, V any](ctx context.Context, rt *RTCache[K, V], b []byte, withTTL bool) (V, time.Duration, Status, error) {
	v, st, left, done := rtReadBytes(rt, b)
	if done {
		return v, left, Hit, nil
	}
	// What get (GetWithTTL) does after its lookup.
	if st == Hit {
		rt.hit(ctx, K(string(b)), left)
		return v, left, Hit, nil
	}
	if withTTL {
		return rt.fetchTTL(ctx, K(string(b)), st)
	}
	v, st, err := rt.fetch(ctx, K(string(b)), st)
	return v, 0, st, err
}

// get is Get past the plain hit: a hit that counts or refreshes ahead, or
// a lookup that found no fresh value.
func (rt *RTCache[K, V]) get(ctx context.Context, k K) (V, Status, error) {
	v, st, left := rt.c.lookup(k)
	if st == Hit {
		rt.hit(ctx, k, left)
		return v, Hit, nil
	}
	return rt.fetch(ctx, k, st)
}

// GetStale is Get with stale-if-error: if the load fails (an error, a
// panic, a timeout, or ctx ending first) and k has a value that expired no
// more than staleTTL ago, GetStale returns that value with Status Stale,
// how long ago it expired, and a nil error. Otherwise the StaleStatus
// carries the TTL GetWithTTL would report (a DNS answer's, without a
// second lookup). A cached error
// (RTOptions.ErrorTTL) counts as a failed load, and so does any error
// the Loader returns: GetStale cannot tell "the origin is down" from "the
// origin says the key is gone". Where an answer of absence must replace
// the old value (an authoritative NXDOMAIN, which RFC 8767 does not let a
// resolver answer stale over), have the Loader return the absence as a
// value, with its TTL, rather than as an error. Where the lookup found
// such a value, the fallback is judged again when the load has failed,
// from the cache as it is then: a load that fails late does not serve a
// value that expired more than staleTTL before it failed, and a fresh
// value stored meanwhile (by Set, or another load) is returned as a Hit.
// Where it found none, GetStale is Get: the load's error (or its panic).
//
// A stale value is there only while the Cache still holds the expired
// entry: eviction drops the expired entries it reaches, and writes
// reclaim them as they sweep unless the Cache's Options.KeepExpired holds
// them back (set it above the staleTTL used here: DeleteExpired reclaims
// a value exactly KeepExpired past its expiry, which GetStale with that
// staleTTL would still serve).
func (rt *RTCache[K, V]) GetStale(ctx context.Context, k K, staleTTL time.Duration) (V, StaleStatus, error) {
	v, st, left := rt.c.lookup(k)
	return rt.getStale(ctx, k, v, st, left, staleTTL)
}

// RTGetStaleBytes is rt.GetStale(ctx, K(string(b)), staleTTL) as
// RTGetBytes is rt.Get's: a hit outside the RefreshAhead window allocates
// nothing; the other paths copy the key. A resolver serving stale answers
// (RFC 8767) looks up the question read from the packet (its name's case
// folded: keys compare byte for byte) and counts one
// lookup in Stats, where a GetBytesWithTTL first and a GetStale on a miss
// counted two (TestRTGetBytesIsGetOfTheString).
func RTGetStaleBytes[K ~string, V any](ctx context.Context, rt *RTCache[K, V], b []byte, staleTTL time.Duration) (V, StaleStatus, error) {
	v, st, left, done := rtReadBytes(rt, b)
	if done {
		return v, StaleStatus{Status: Hit, TTL: left}, nil
	}
	return rt.getStale(ctx, K(string(b)), v, st, left, staleTTL)
}

// getStale is GetStale after its lookup of k found v, st and left.
func (rt *RTCache[K, V]) getStale(ctx context.Context, k K, v V, st Status, left, staleTTL time.Duration) (V, StaleStatus, error) {
	if st == Hit {
		rt.hit(ctx, k, left)
		return v, StaleStatus{Status: Hit, TTL: left}, nil
	}
	if st != Expired || -left > staleTTL {
		nv, ttl, nst, err := rt.fetchTTL(ctx, k, st)
		return nv, StaleStatus{Status: nst, TTL: ttl}, err
	}
	nv, ttl, nst, panicked, err := rt.fetchCaught(ctx, k, st)
	if err == nil {
		return nv, StaleStatus{Status: nst, TTL: ttl}, nil
	}
	// The load failed: what the cache holds now, not what it held before
	// the load, decides (the load may have taken up to its timeout).
	switch v, st, left, _ := rt.c.recheckRead(k); {
	case st == Hit:
		return v, StaleStatus{Status: Hit, TTL: left}, nil
	case st == Expired && -left <= staleTTL:
		rt.st.stale.Add(1)
		return v, StaleStatus{Status: Stale, StaleFor: max(-left, 1)}, nil
	}
	if panicked {
		panic(err) // as fetch would have, with no stale value to serve
	}
	return nv, StaleStatus{Status: nst, TTL: ttl}, err
}

// fetchCaught is fetch for a caller that may have a stale value to fall
// back on: a panic in the Loader, which fetch raises again in its leader,
// is returned as its *PanicError instead, and panicked says so.
func (rt *RTCache[K, V]) fetchCaught(ctx context.Context, k K, st Status) (v V, ttl time.Duration, s Status, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, ok := r.(*PanicError)
			if !ok {
				panic(r)
			}
			s, err, panicked = st, p, true
		}
	}()
	v, ttl, s, err = rt.fetchTTL(ctx, k, st)
	return v, ttl, s, false, err
}

// GetStaleWhileUpdate serves stale while it revalidates: if k's value
// expired no more than staleTTL ago, it returns that value at once with
// Status Stale and how long ago it expired, and starts a background load of
// k unless one is in flight (one per key at a time, at most MaxRefreshes
// over all keys; none while a load error is cached). Callers never wait
// for the load of an expired key that has a stale value (starting one
// claims k in the wait map, which may wait for an RTCache write, as a
// refreshing hit of Get may). Otherwise it is Get.
//
// A write of k (Set, Compute, Delete, Invalidate) detaches the load of k
// in flight, whose result is then dropped; the next stale read may start
// another while the first still runs (each holds its place in
// MaxRefreshes until its Loader returns). As with RefreshAhead, a failed
// background load holds off the next only while its error is kept
// (ErrorTTL, ErrorWithTTL): against an origin that fails fast, without
// one, each stale read of a hot key starts another.
//
// The value must still be there: the Cache keeps expired entries for
// stale reads only for Options.KeepExpired (and the sweep and
// DeleteExpired reclaim them after it; eviction may drop them sooner).
// With KeepExpired 0, a DeleteExpired ticker takes an expired or
// Invalidated value at once, and there is nothing stale to serve.
func (rt *RTCache[K, V]) GetStaleWhileUpdate(ctx context.Context, k K, staleTTL time.Duration) (V, StaleStatus, error) {
	v, st, left := rt.c.lookup(k)
	switch {
	case st == Hit:
		rt.hit(ctx, k, left)
		return v, StaleStatus{Status: Hit, TTL: left}, nil
	case st == Expired && -left <= staleTTL:
		if rt.refresh(ctx, k) {
			rt.st.errorHits.Add(1)
		}
		rt.st.stale.Add(1)
		return v, StaleStatus{Status: Stale, StaleFor: max(-left, 1)}, nil
	}
	nv, ttl, nst, err := rt.fetchTTL(ctx, k, st)
	return nv, StaleStatus{Status: nst, TTL: ttl}, err
}

// MultiGet looks up every key and returns the answers in the order of keys.
// Hits are served from the cache (the hits inside the RefreshAhead window
// are refreshed in the background, as Get's are, but with one BatchLoader
// call for all of them, if there is a BatchLoader, that holds one place
// of MaxRefreshes and leaves out the keys a load has in flight or whose
// error is cached; a lone hit in the window is refreshed with the Loader); the
// misses are loaded in one call of the BatchLoader (in parts of
// RTOptions.MaxBatch keys, if set) (without one, each with the Loader, RTOptions.MaxMultiLoads at a
// time, as Get would, except that a key not yet taken when ctx ends fails
// with its error and starts no load: its Status is what its lookup found,
// Miss or Expired, and it counts in no Misses). Misses whose load another
// caller (a Get, or another MultiGet) has in flight wait for it instead
// (if what that load found came from the cache's recheck rather than the
// origin, they are looked up again, and those still missing loaded with a
// second BatchLoader call), and a Get of a key in this MultiGet's
// BatchLoader call waits for that call (one the BatchLoader itself makes,
// with its ctx, gets ErrLoadCycle). A key that fails does not fail the
// others: its RTResult.Err says why, and the hits are kept. err is the
// first key's error in the order of keys, or nil if none failed. A key
// given twice is loaded once: its first miss has Status Miss (or
// Expired), the others LockHit, and the counts say so (but if ctx ended
// before its load was taken, every occurrence has what its lookup found
// and counts nowhere). A BatchLoader that
// returns the wrong number of results fails its keys with ErrBatchSize; it
// never panics MultiGet. If the BatchLoader itself panics, MultiGet panics
// with the *PanicError; a Loader's panic is its key's error.
func (rt *RTCache[K, V]) MultiGet(ctx context.Context, keys []K) ([]RTResult[V], error) {
	out := make([]RTResult[V], len(keys))
	var missAt []int
	var missing []K
	// A miss whose key an earlier miss has is loaded once, with it, and
	// takes its answer as a LockHit: repeats holds the two indices in out.
	var seen map[K]int
	var repeats [][2]int
	var stale []K // hits inside the RefreshAhead window, with a BatchLoader
	for i, k := range keys {
		v, st, left := rt.c.lookup(k)
		if st == Hit {
			if rt.batch != nil && left < rt.refreshAhead {
				rt.count()
				stale = append(stale, k)
			} else {
				rt.hit(ctx, k, left) // counted, and refreshed ahead as Get's hits are
			}
			out[i] = RTResult[V]{Value: v, Status: Hit, TTL: left}
			continue
		}
		if left, err, ok := rt.cachedError(k); ok {
			out[i] = RTResult[V]{Status: Hit, Err: err, TTL: left}
			continue
		}
		if len(missing) > 0 { // a second miss: it may repeat one
			if seen == nil {
				seen = map[K]int{missing[0]: missAt[0]}
			}
			if first, ok := seen[k]; ok {
				repeats = append(repeats, [2]int{i, first})
				continue
			}
			seen[k] = i
		}
		out[i].Status = st
		missAt = append(missAt, i)
		missing = append(missing, k)
	}
	if len(stale) > 0 {
		rt.refreshBatch(ctx, stale)
	}
	var untaken []bool // by place in keys, the misses ctx left unloaded (without a BatchLoader, or in MaxBatch parts not yet taken)
	// repeated counts the repeats of keys that were taken as LockHits.
	repeated := func() {
		for _, r := range repeats {
			if untaken == nil || !untaken[r[1]] {
				rt.st.lockHits.Add(1)
			}
		}
	}
	if len(missing) > 0 && rt.batch == nil {
		var p *any // a panic not a Loader's (OnEvict's): the keys have their outcome, counted
		if untaken, p = rt.loadEach(ctx, out, missAt, missing); p != nil {
			repeated()
			panic(*p)
		}
	} else if len(missing) > 0 {
		// The keys the BatchLoader was given: this MultiGet's misses, which
		// it counts even if DoBatch panics with the BatchLoader's panic (its
		// keys have their outcome by then), as Get counts a panicking load.
		var led atomic.Int64
		// The BatchLoader's panics, in the order they came: each is
		// returned as its keys' error, so that DoBatch hands back every
		// key's outcome (a key Close turned away among them counts
		// nowhere), and raised below if it reached a key of this MultiGet
		// (not past the load timeout), as DoBatch would have raised it.
		var panicsMu sync.Mutex
		var panics []*PanicError
		load := func(ctx context.Context, keys []K) (res []coalesce.Result[loaded[V]], err error) {
			led.Add(int64(len(keys)))
			defer func() {
				if r := recover(); r != nil { // nil in a Goexit, which goes on
					p := &PanicError{Value: r, Stack: debug.Stack()}
					panicsMu.Lock()
					panics = append(panics, p)
					panicsMu.Unlock()
					res, err = nil, p
				}
			}()
			return rt.loadBatch(ctx, keys)
		}
		returned := false
		skipped := 0 // misses (and their repeats) of parts ctx left untaken
		defer func() {
			if !returned {
				n := led.Load()
				rt.st.misses.Add(uint64(n))
				rt.st.lockHits.Add(uint64(max(int64(len(missing)+len(repeats)-skipped)-n, 0)))
			}
		}()
		res, notTaken, p := rt.doBatch(ctx, missing, load)
		if p == nil {
			panicsMu.Lock() // a load past its timeout may still panic
			p = firstPanic(panics, res)
			panicsMu.Unlock()
		}
		// A key of a part not taken (ctx's error), or turned away by
		// Close (no load), has what its lookup found and counts nowhere,
		// nor do its repeats: skipped, even if a part panicked.
		for j, r := range res {
			if notTaken != nil && notTaken[j] || refused(r.Val, r.Err) {
				if untaken == nil {
					untaken = make([]bool, len(out))
				}
				untaken[missAt[j]] = true
				skipped++
			}
		}
		if untaken != nil {
			for _, r := range repeats {
				if untaken[r[1]] {
					skipped++
				}
			}
		}
		if p != nil {
			panic(*p) // counted as above
		}
		returned = true
		for j, r := range res {
			o := &out[missAt[j]]
			if untaken != nil && untaken[missAt[j]] {
				o.Err = r.Err // ctx's or ErrClosed: its Status is what its lookup found
				continue
			}
			o.Value, o.Err = r.Val.val, r.Err
			rt.resultLeft(o, missing[j], r.Val)
			if r.Leader {
				rt.st.misses.Add(1)
			} else {
				o.Status = LockHit
				rt.st.lockHits.Add(1)
			}
		}
	}
	for _, r := range repeats {
		first := out[r[1]]
		if untaken != nil && untaken[r[1]] {
			// Its first started no load, nor waited for one: it too
			// has what its lookup found.
			out[r[0]] = RTResult[V]{Status: first.Status, Err: first.Err, TTL: first.TTL}
			continue
		}
		out[r[0]] = RTResult[V]{Value: first.Value, Status: LockHit, Err: first.Err, TTL: first.TTL}
	}
	repeated()
	for _, o := range out {
		if o.Err != nil {
			return out, o.Err
		}
	}
	return out, nil
}

// firstPanic returns the first of panics (a MultiGet's BatchLoader's, in
// the order they came) that is the outcome of a key res says its
// BatchLoader call was for, or nil if none is (a panic past the load
// timeout reached no key).
func firstPanic[V any](panics []*PanicError, res []coalesce.Result[loaded[V]]) *any {
	for _, p := range panics {
		for _, r := range res {
			if r.Leader && r.Err == error(p) {
				var v any = p
				return &v
			}
		}
	}
	return nil
}

// Set stores v under k with ttl (see the package doc) and reports whether
// it was stored, as Cache.SetWithTTL does. A load of k in flight is
// detached: its callers still get its result, but it is not stored over v
// (OnEvict hears of it as EvictRejected), and later callers of k do not
// join it. A cached error of k is cleared.
func (rt *RTCache[K, V]) Set(k K, v V, ttl time.Duration) bool {
	var ok bool
	w := rt.c.weigh(k, v) // before the wait map's lock, as Cache.Set does
	rt.write(k, func(out *[]shard.Evicted[K, V]) bool { ok = rt.c.setWeighed(k, v, w, ttl, out); return false })
	return ok
}

// Compute is Cache.Compute ordered with loads as Set and Delete are: it
// runs under k's lock in the wait map, so a load of k in flight (a miss's,
// or a refresh's: RefreshAhead, GetStaleWhileUpdate, Refresh) is detached:
// its callers still get its result, but it is not stored over what f
// decided, and later callers of k do not join it. A read-modify-write of a
// loaded value (a quota loaded from the origin and spent locally) so loses
// no update to a load that lands after it, where Cache.Compute's would be
// stored over (TestRTWritesWinOverLoadsInFlight,
// TestRTComputeWinsOverRefreshes, TestRTComputeLosesNoIncrementToLoads).
// A ComputeKeep changes nothing, and leaves the load attached: it stores
// its value as if f had run just before it, so a spend-or-load loop (a
// ComputeKeep where no quota is found yet, then a Get that joins the
// load, then Compute again) makes one origin call, where detaching the
// load made a rate limiter's 64 callers of one cold key make up to 8,960
// (TestRTComputeKeepLeavesTheLoad). While f runs, lookups of k wait for
// its lock rather than join the load. An f that panics detaches the load
// (its callers get its result; it is not stored).
//
// A cached error of k (ErrorTTL, ErrorWithTTL) is no value: f is called
// with found false (unless a live value stands beside the error: that of
// a failed background refresh), and the error is cleared before f runs, as
// every RTCache write clears it, whatever f returns: after a ComputeKeep or
// ComputeRemove the next lookup of k loads afresh rather than getting the
// error (TestRTComputeClearsACachedError).
//
// Its return values, its ComputeOps and TTLs (ComputeUpdate keeps the
// live value's expiry), its Stats (the Cache's: a ComputeStore counts as
// a Set; no Hits or Misses, in RTStats either: TestRTComputeStats) and
// its panics are Cache.Compute's: if f panics, the Cache is not changed
// (the load in flight is detached and the error cleared all the same),
// k's lock in the wait map is released, and the panic goes on to
// Compute's caller (TestRTComputePanicReleasesTheKey). f, and the Weigher for the
// value it stores, run under k's lock in the wait map and its shard's
// lock: they must be quick and must not call this RTCache or its Cache,
// which would deadlock; other caches and locks are fine. Meanwhile a
// lookup of k that would load waits for them, and so may a hit that starts
// a refresh of a key in the same bucket of the wait map, as with Set.
// OnEvict runs after both locks are released. Compute is a write: it goes
// on after Close (TestRTComputeAfterClose).
func (rt *RTCache[K, V]) Compute(k K, f func(old V, found bool) (v V, ttl time.Duration, op ComputeOp)) (V, bool) {
	var v V
	var ok bool
	rt.write(k, func(out *[]shard.Evicted[K, V]) bool {
		var op ComputeOp
		v, ok = rt.c.computeCollect(k, func(old V, found bool) (V, time.Duration, ComputeOp) {
			v, ttl, o := f(old, found)
			op = o
			return v, ttl, o
		}, out)
		return op == ComputeKeep // f changed nothing: a load in flight stays
	})
	return v, ok
}

// Delete removes k and returns the value it had, if it had one that had
// not expired. The next lookup of k loads it afresh: a load in flight is
// detached (it will not store its result, and later callers do not join
// it), and a cached error of k is cleared.
func (rt *RTCache[K, V]) Delete(k K) (V, bool) {
	var v V
	var ok bool
	rt.write(k, func(out *[]shard.Evicted[K, V]) bool { v, ok = rt.c.deleteCollect(k, out); return false })
	return v, ok
}

// Invalidate makes k's value expire now but keeps it for stale reads: the
// next Get of k loads it afresh, while GetStale and GetStaleWhileUpdate
// may still serve the old value within their allowance. Like Delete, it
// detaches a load of k in flight and clears a cached error. It reports
// whether k had a value that had not expired.
func (rt *RTCache[K, V]) Invalidate(k K) bool {
	var ok bool
	rt.write(k, func(out *[]shard.Evicted[K, V]) bool { ok = rt.c.expireCollect(k, out); return false })
	return ok
}

// DeleteFunc deletes, as Delete does, every key whose entry del chooses,
// expired entries kept for stale reads included, and returns how many
// entries it removed (OnEvict: EvictDeleted). del is shown each entry with
// no lock held (it may call this RTCache); each key it chose is then
// deleted under its lock in the wait map: whatever the key holds by then
// goes, a load of it in flight is detached and its cached error cleared.
// So a purge of a tenant's keys is not undone by a load that asked the
// origin before it, whether that load lands before the key's deletion (its
// value goes with it, though del judged the older one) or after (it is
// detached and stores nothing) (TestRTDeleteFuncDetachesLoadsInFlight).
// Where the Cache's DeleteFunc, called directly, keeps a value stored
// after del judged the key, and leaves a load in flight to store its
// value, this one deletes: a read-through cache loses nothing by it, the
// next lookup loads afresh. A key with no entry is not shown to del: a load
// of a key that had none, in flight during the purge, stores its value,
// and a cached error with no value stays; DeleteKeysFunc, which judges
// keys, purges those too. A panic of del's goes
// on to the caller, and what was deleted before it stays deleted (an
// OnEvict panic caught before it is then dropped); a panic of OnEvict's
// does not cut the purge short, and is raised once it is done.
func (rt *RTCache[K, V]) DeleteFunc(del func(k K, v V) bool) int {
	n := 0
	var first *recovered
	rt.c.judge(del, func(k K) { rt.purge(k, &n, &first) })
	first.raise()
	return n
}

// purge deletes k for DeleteFunc and DeleteKeysFunc, as Delete does,
// counting in *n the values it removes and keeping in *first OnEvict's
// first panic, for the caller to raise once it is done.
func (rt *RTCache[K, V]) purge(k K, n *int, first **recovered) {
	var buf [1]shard.Evicted[K, V]
	out := buf[:0]
	rt.writeTo(k, func(out *[]shard.Evicted[K, V]) bool {
		if rt.c.removeCollect(k, out) {
			*n++
		}
		return false
	}, &out)
	*first = (*first).or(rt.c.tell(out))
}

// DeleteKeysFunc deletes, as Delete does, every key del chooses among the
// keys the RTCache holds anything for: a value (expired ones kept for stale
// reads included), a load in flight, or a cached error. It returns how
// many values it removed (OnEvict: EvictDeleted). It is the purge of a
// tenant's or a prefix's keys: where DeleteFunc, which judges values, is
// not shown a key with no value, and so leaves a load of such a key in
// flight to store what it read from the origin before the purge, and its
// cached error in place, DeleteKeysFunc detaches the load and clears the
// error (TestRTDeleteKeysFuncPurgesWhatNoValueShows).
//
// del runs with no lock held (it may call this RTCache) and may be asked
// about a key more than once (a key with a value and a load in flight):
// it must answer by the key alone. The keys with loads in flight are
// judged first, then those with cached errors, then those with values: a
// load in flight when DeleteKeysFunc began is either found in flight and
// detached, or has stored its value or error already, which the later
// passes find. A key that del chose loses whatever it holds when its turn
// comes, a value stored after del judged it included. Panics go as in
// DeleteFunc: del's at once, OnEvict's once the purge is done.
func (rt *RTCache[K, V]) DeleteKeysFunc(del func(k K) bool) int {
	n := 0
	var first *recovered
	purge := func(k K) { rt.purge(k, &n, &first) }
	rt.group.Keys(func(k K) {
		if del(k) {
			purge(k)
		}
	})
	if errs := rt.errs.Load(); errs != nil {
		errs.judge(func(k K, _ error) bool { return del(k) }, purge)
	}
	rt.c.judge(func(k K, _ V) bool { return del(k) }, purge)
	first.raise()
	return n
}

// Clear empties the RTCache: every value goes (Cache.Clear: OnEvict sees
// them with EvictDeleted), so do the cached errors, and the loads in
// flight are detached, as Delete detaches one: their callers still get
// their results, but none is stored, and later callers start new loads.
// A load that starts while Clear runs may be stored or not. (The Cache's
// own Clear, called directly, is not ordered with loads in flight, and
// leaves the cached errors.)
func (rt *RTCache[K, V]) Clear() {
	rt.group.ForgetAll()
	// The values before the errors (write's order is the other): a load
	// that starts while Clear runs and fails caches its error after the
	// errors were cleared, while a reader could still find the key's old
	// value. A key's value gone and its old error still there is what an
	// eviction leaves; the old value beside that load's error is no state
	// of the key at all (TestLinearizable's rtcache-ttl-moving-clock
	// config found it: 2 of 3 runs of 1500 histories under -race;
	// TestRTClearDropsTheErrorOfALoadThatFailedAfterTheValues).
	rt.c.Clear()
	if errs := rt.errs.Load(); errs != nil {
		errs.Clear()
	}
}

// write runs w under k's lock in the wait map, so that it is ordered with
// the stores of loads: a load in flight is detached and will not store its
// result over what w did, unless w reports that it left k as it was (a
// Compute's ComputeKeep). OnEvict runs after the lock is released.
func (rt *RTCache[K, V]) write(k K, w func(out *[]shard.Evicted[K, V]) (kept bool)) {
	var buf [2]shard.Evicted[K, V]
	out := buf[:0]
	rt.writeTo(k, w, &out)
	rt.c.notify(out)
}

// writeTo is write leaving what OnEvict is to hear of in out, for the
// caller to tell (DeleteFunc tells each key's and raises OnEvict's first
// panic at the end).
func (rt *RTCache[K, V]) writeTo(k K, w func(out *[]shard.Evicted[K, V]) (kept bool), out *[]shard.Evicted[K, V]) {
	rt.group.ForgetUnless(k, func() bool {
		// The error first: a reader that finds no live value consults the
		// errors, and must not find k's old error beside w's value (one
		// already expired, or none); finding neither, it loads, and its
		// claim waits for this lock.
		if errs := rt.errs.Load(); errs != nil {
			errs.Delete(k)
		}
		return w(out)
	})
}

// Stats returns a snapshot of the counters.
func (rt *RTCache[K, V]) Stats() RTStats {
	loadErrors := rt.st.loadErrors.Load() // before loads: see finished
	s := RTStats{
		Misses:     rt.st.misses.Load(),
		LockHits:   rt.st.lockHits.Load(),
		Stale:      rt.st.stale.Load(),
		ErrorHits:  rt.st.errorHits.Load(),
		Loads:      rt.st.loads.Load(),
		LoadErrors: loadErrors,
		Batches:    rt.st.batches.Load(),
		Refreshes:  rt.st.refreshes.Load(),
		LoadTime:   time.Duration(rt.st.loadTime.Load()),
		Dropped:    rt.st.dropped.Load(),
	}
	if rt.st.hits != nil {
		s.Hits = uint64(rt.st.hits.Value())
	}
	return s
}

// InFlight returns the number of loads in flight that hold their key. It
// is not a count of running Loaders: a load past its LoadTimeout, or
// detached by a write, no longer holds its key, though its Loader may
// still run (a hung origin that ignores its ctx shows in goroutines, not
// here); and after Close a lookup that would load still claims its key
// for the moment it takes to turn it away with ErrClosed, so InFlight may
// read above 0 while lookups go on (a soak test saw up to 29 with 16
// callers) and falls to 0 when they stop. Close's return, not InFlight,
// says that every Loader has ended.
func (rt *RTCache[K, V]) InFlight() int { return rt.group.Len() }

// Close shuts the RTCache's loading down, for a server that stops. From
// its start no load starts: a lookup that would start one returns
// ErrClosed, with the Status its lookup found (Miss or Expired), counted
// in no Misses (GetStale serves the stale value instead, where it has
// one, as for any failed load); refreshes ahead and GetStaleWhileUpdate's
// background loads are skipped. Hits, cached errors, writes and lookups
// that join a load in flight go on as before, and the Cache stays usable.
//
// Close returns nil once every load started has ended: its Loader or
// BatchLoader has returned, its values are stored, OnEvict has been called
// for what they displaced and its callers are woken (a load past its
// LoadTimeout is waited for until its Loader returns); no goroutine of
// the RTCache's has work left then, though the last load's may still be
// returning (a leak check right after Close waits for it, as
// synctest.Wait does). If ctx ends first, Close ends the loads'
// contexts (their Err is context.Canceled; context.Cause gives ErrClosed),
// and returns ctx.Err() at once: what the Loaders return then is their
// callers' answer, and stored (or its error kept) as any. Close may be
// called again, and at once by several goroutines: each call waits as the
// first did. A Close called inside a Loader (or OnEvict) waits for that
// load too: with a ctx that never ends, for ever.
func (rt *RTCache[K, V]) Close(ctx context.Context) error { return rt.group.Close(ctx) }

// refused reports whether a lookup's load was turned away by Close: its
// outcome is ErrClosed, not from a Loader.
func refused[V any](r loaded[V], err error) bool {
	return err == ErrClosed && !r.ran
}

// hit counts a hit with left to live and starts a refresh ahead of its
// expiry if RefreshAhead says so.
func (rt *RTCache[K, V]) hit(ctx context.Context, k K, left time.Duration) {
	rt.count()
	if left < rt.refreshAhead {
		rt.refresh(ctx, k)
	}
}

// count counts a hit, if the Cache records stats.
func (rt *RTCache[K, V]) count() {
	if rt.st.hits != nil {
		rt.st.hits.Inc()
	}
}

// fetch is the path of a lookup that found no fresh value (st is Miss or
// Expired): a cached error, or the key's load.
func (rt *RTCache[K, V]) fetch(ctx context.Context, k K, st Status) (V, Status, error) {
	r, _, st, err := rt.fetchLoaded(ctx, k, st)
	return r.val, st, err
}

// fetchLoaded is fetch that returns the value as the load (or the recheck
// that answered it) gave it, with its expiry; or k's cached error with the
// time it has left (errLeft, never 0 for one: only a live error is found).
func (rt *RTCache[K, V]) fetchLoaded(ctx context.Context, k K, st Status) (r loaded[V], errLeft time.Duration, s Status, err error) {
	if left, err, ok := rt.cachedError(k); ok {
		return loaded[V]{}, left, Hit, err
	}
	r, s, err = rt.joinLoaded(ctx, k, st)
	return r, 0, s, err
}

// joinLoaded loads k, or waits for the load of k in flight, and returns
// the value with its expiry.
func (rt *RTCache[K, V]) joinLoaded(ctx context.Context, k K, st Status) (loaded[V], Status, error) {
	// Only a leader's Do panics (the load's *PanicError) or ends its
	// goroutine (a Goexit in a load run on it): it is a Miss all the same.
	leader := true
	counted := false
	defer func() {
		switch {
		case counted:
		case leader:
			rt.st.misses.Add(1)
		default:
			rt.st.lockHits.Add(1)
		}
	}()
	r, leader, err := rt.group.Do(ctx, k, rt.loader(k))
	switch {
	case refused(r, err):
		counted = true // no load: it counts nowhere
		return r, st, err
	case !leader:
		return r, LockHit, err
	}
	return r, st, err
}

// cachedError returns k's cached load error, if one is kept, with
// the time it has left.
func (rt *RTCache[K, V]) cachedError(k K) (left time.Duration, err error, ok bool) {
	errs := rt.errs.Load()
	if errs == nil {
		return 0, nil, false
	}
	if err, left, ok = errs.GetWithTTL(k); ok {
		rt.st.errorHits.Add(1)
	}
	return left, err, ok
}

// refresh starts a background load of k unless k's error is cached
// (ErrorTTL holds its loads off: the claim's recheck would answer with
// it), one is in flight, or MaxRefreshes are. It reports whether k's
// error is cached; a hit does not count that as an ErrorHit (it got its
// value), a stale read does. A flood of stale reads of one key costs one
// or two map lookups each, and no shared write, once its refresh runs or
// while its error is cached (a hit in the RefreshAhead window used to
// claim k in the wait map, allocating, until the error expired).
func (rt *RTCache[K, V]) refresh(ctx context.Context, k K) (errorCached bool) {
	errorCached, _ = rt.refreshHow(ctx, k, rt.recheckRefresh)
	return errorCached
}

// Refresh starts a load of k in the background and returns at once,
// whether k holds a value or not, fresh or expired: for a value the
// caller knows to be out of date (a key rotated at the origin, a config
// pushed), where Invalidate would make the next lookups wait for the load
// and GetStale needs KeepExpired. Lookups meanwhile get the value k holds
// (a Hit while it is live); those that find none join the load (LockHit).
// The load stores its value as any load does (a Set, Compute, Delete,
// Invalidate or Clear of k meanwhile detaches it); if it fails, k keeps its value,
// and the error is kept as RTOptions.ErrorTTL says. It is a background
// refresh like RefreshAhead's: it holds a place of MaxRefreshes until its
// Loader returns (even past LoadTimeout, through a panic or Goexit too)
// and counts in RTStats.Refreshes. Refresh reports whether it started the
// load: false if a load of k that holds k was in flight already (it goes
// on, and stores its value as usual; it may have asked the origin before
// the change that prompted the call; one older than LockAge no longer
// holds k, and Refresh starts another), if a kept error of k holds off
// its loads (Delete clears it), if MaxRefreshes loads are running, or
// once Close has begun. The load's context keeps ctx's values but not its
// cancellation, as every load's (TestRTRefreshGivesItsPlaceBack,
// TestRTRefreshPastLockAge, TestRTRefreshFromALoader).
func (rt *RTCache[K, V]) Refresh(ctx context.Context, k K) bool {
	// No recheck of the value (a fresh one is what Refresh reloads), but
	// of the kept errors: refreshHow looked before the claim, and a load
	// of k may have failed and kept its error since
	// (TestRTRefreshHeldOffByAnErrorKeptAfterItsLook).
	_, started := rt.refreshHow(ctx, k, rt.recheckError)
	return started
}

// recheckError is Refresh's recheck: a kept error of k answers (as it
// does recheckLeft's), a value does not.
func (rt *RTCache[K, V]) recheckError(k K) (loaded[V], bool, error) {
	var r loaded[V]
	if errs := rt.errs.Load(); errs != nil {
		if err, ok := errs.Get(k); ok {
			r.ran = true // a load's error, kept: a Loader's own ErrClosed is no refusal
			return r, true, err
		}
	}
	return r, false, nil
}

// refreshHow is refresh, and Refresh, with recheck as the load's recheck
// (recheckRefresh, the Group's RecheckGo, or recheckError): it reports
// whether a kept error held it off, and whether it started the load.
func (rt *RTCache[K, V]) refreshHow(ctx context.Context, k K, recheck func(K) (loaded[V], bool, error)) (errorCached, started bool) {
	if errs := rt.errs.Load(); errs != nil {
		if _, failed := errs.Get(k); failed {
			return true, false
		}
	}
	if rt.group.InFlight(k) {
		return false, false
	}
	if rt.refreshing.Add(1) > rt.maxRefresh {
		rt.refreshing.Add(-1)
		return false, false
	}
	load := rt.loader(k)
	defer func() {
		if !started { // not started, or its recheck panicked (a custom Hasher's panic): the place is free again
			rt.refreshing.Add(-1)
		}
	}()
	started = rt.group.GoRecheck(ctx, k, func(ctx context.Context) (loaded[V], error) {
		defer rt.refreshing.Add(-1)
		return load(ctx)
	}, recheck)
	if started {
		rt.st.refreshes.Add(1)
	}
	return false, started
}

// refreshBatch is refresh for MultiGet's hits inside the RefreshAhead
// window when there is a BatchLoader: one background BatchLoader call for
// those of keys whose error is not cached and that no load has in flight,
// holding one place of MaxRefreshes. A single key is refreshed as Get's
// hit would be, with the Loader. (One Loader call per key cost a service
// asking for 200 hot IDs at a time 200 queries where one would do.)
func (rt *RTCache[K, V]) refreshBatch(ctx context.Context, keys []K) {
	// A key whose error is cached would be answered by its claim's recheck
	// too, but the claim allocates (as in refresh).
	if errs := rt.errs.Load(); errs != nil {
		keys = slices.DeleteFunc(keys, func(k K) bool {
			_, failed := errs.Get(k)
			return failed
		})
	}
	if len(keys) <= 1 {
		for _, k := range keys {
			rt.refresh(ctx, k)
		}
		return
	}
	n := rt.maxBatch
	if n <= 0 {
		n = len(keys)
	}
	for lo := 0; lo < len(keys); lo += n {
		if !rt.refreshPart(ctx, keys[lo:min(len(keys), lo+n)]) {
			return
		}
	}
}

// refreshPart starts one background BatchLoader call for those of keys
// that need it, if a place of MaxRefreshes is free; it reports whether
// one was.
func (rt *RTCache[K, V]) refreshPart(ctx context.Context, keys []K) bool {
	if rt.refreshing.Add(1) > rt.maxRefresh {
		rt.refreshing.Add(-1)
		return false
	}
	started := 0
	defer func() {
		if started == 0 { // none started, or a recheck panicked: the place is free again
			rt.refreshing.Add(-1)
		}
	}()
	started = rt.group.GoBatch(ctx, keys, func(ctx context.Context, keys []K) ([]coalesce.Result[loaded[V]], error) {
		defer rt.refreshing.Add(-1)
		return rt.loadBatch(ctx, keys)
	})
	rt.st.refreshes.Add(uint64(started))
	return true
}

// loader returns the function a load of k runs: the Loader, timed
// (finished counts it).
func (rt *RTCache[K, V]) loader(k K) func(context.Context) (loaded[V], error) {
	return func(ctx context.Context) (r loaded[V], err error) {
		defer rt.timed()()
		r.ran = true
		var ttl time.Duration
		r.val, ttl, err = rt.load(ctx, k)
		if err == nil {
			r.w = rt.c.weigh(k, r.val)
			r.expire, r.at = rt.c.expiry(ttl)
		} else {
			r.errTTL, err = errorTTL(err)
		}
		return r, err
	}
}

// timed returns the function that adds the time of loads starting now
// once they end (through a panic or Goexit too). finished counts them.
func (rt *RTCache[K, V]) timed() (done func()) {
	start := time.Now()
	return func() { rt.st.loadTime.Add(int64(time.Since(start))) }
}

// doBatch is the group's DoBatch of keys with load, in parts of MaxBatch
// keys, up to MaxMultiLoads of them at once (one on this goroutine). A
// part's panic (the BatchLoader's *PanicError) is returned once every part
// has ended, for the caller to raise, as DoBatch raises it once its keys
// have their outcome. A part not yet taken when ctx ends starts no load
// (DoBatch would start it detached from ctx at once: every part left, past
// MaxMultiLoads): its keys fail with ctx's error and are marked in
// untaken (nil if every key was taken).
func (rt *RTCache[K, V]) doBatch(ctx context.Context, keys []K, load func(context.Context, []K) ([]coalesce.Result[loaded[V]], error)) (res []coalesce.Result[loaded[V]], untaken []bool, panicked *any) {
	n := rt.maxBatch
	if n <= 0 || len(keys) <= n {
		return rt.group.DoBatch(ctx, keys, load), nil, nil
	}
	out := make([]coalesce.Result[loaded[V]], len(keys))
	left := make([]bool, len(keys))
	var anyLeft atomic.Bool
	parts := (len(keys) + n - 1) / n
	var next atomic.Int64
	var first atomic.Pointer[any] // the first part's panic
	work := func() {
		for {
			p := int(next.Add(1)) - 1
			if p >= parts {
				return
			}
			lo, hi := p*n, min(len(keys), (p+1)*n)
			if err := ctx.Err(); err != nil {
				for i := lo; i < hi; i++ {
					out[i].Err, left[i] = err, true
				}
				anyLeft.Store(true)
				continue
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						first.CompareAndSwap(nil, &r)
					}
				}()
				copy(out[lo:hi], rt.group.DoBatch(ctx, keys[lo:hi], load))
			}()
		}
	}
	var wg sync.WaitGroup
	for range min(parts, rt.maxEach) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if anyLeft.Load() {
		untaken = left
	}
	return out, untaken, first.Load()
}

// finished is the coalesce Finished: it runs once for each key a Loader or
// BatchLoader was started for, with the error its callers see (the
// loader's, a panic's, ErrGoexit or the load timeout), when its load
// finishes or times out (a load that hangs past LoadTimeout counts then),
// under the wait map's lock, before commit stores the outcome and the key
// is freed. Loads and LoadErrors are counted here, together and in that
// order (and Stats reads them in the other): a load timer can finish a
// call before its Loader's goroutine has even started, and LoadErrors
// never exceeds Loads in a snapshot.
func (rt *RTCache[K, V]) finished(_ K, err error) {
	rt.st.loads.Add(1)
	if err != nil {
		rt.st.loadErrors.Add(1)
	}
}

// loadBatch loads MultiGet's misses with the BatchLoader.
func (rt *RTCache[K, V]) loadBatch(ctx context.Context, keys []K) ([]coalesce.Result[loaded[V]], error) {
	rt.st.batches.Add(1)
	got, err := func() ([]Loaded[V], error) {
		defer rt.timed()() // through a panic or Goexit too
		// A copy: the results are weighed with keys below, and the
		// BatchLoader may change its slice.
		return rt.batch(ctx, slices.Clone(keys))
	}()
	if err != nil {
		// Each key fails with err, kept for its ttl (0: ErrorTTL), as a
		// load's error (ran).
		ttl, err := errorTTL(err)
		res := make([]coalesce.Result[loaded[V]], len(keys))
		for i := range res {
			res[i] = coalesce.Result[loaded[V]]{Val: loaded[V]{errTTL: ttl, ran: true}, Err: err}
		}
		return res, nil
	}
	if len(got) != len(keys) {
		return nil, fmt.Errorf("ufocache: BatchLoader returned %d results for %d keys: %w", len(got), len(keys), ErrBatchSize)
	}
	res := make([]coalesce.Result[loaded[V]], len(got))
	for i, l := range got {
		res[i] = coalesce.Result[loaded[V]]{Val: loaded[V]{val: l.Value, ran: true}, Err: l.Err}
		if l.Err == nil {
			res[i].Val.w = rt.c.weigh(keys[i], l.Value) // before the store's lock
			res[i].Val.expire, res[i].Val.at = rt.c.expiry(l.TTL)
		} else {
			res[i].Val.errTTL, res[i].Err = errorTTL(l.Err)
		}
	}
	return res, nil
}

// loadEach loads MultiGet's misses without a BatchLoader: each key as Get
// would (it leads or joins the key's own call, with its own load timeout,
// and is stored as soon as it loads), on up to MaxMultiLoads goroutines
// that take the keys in turn, writing each answer into out at missAt.
// (MultiGet gives each key once: a repeat that joined its first
// occurrence as another caller would have waited at most LockTimeout, and
// loaded again if the answer was not stored.) A panic or Goexit in one
// key's Loader fails that key only. (As one batch, one slow key held every
// key back: their values stored only once it returned, Gets of them
// waiting for it, and at the load timeout all of them failed.) Any other
// panic that reaches a key's goroutine (an OnEvict's, when the store ran
// there) is returned as panicked once every key has its answer, for
// MultiGet to raise when it has counted the keys' repeats. It reports, by
// place in out, the keys the ctx left unloaded.
func (rt *RTCache[K, V]) loadEach(ctx context.Context, out []RTResult[V], missAt []int, missing []K) (untaken []bool, panicked *any) {
	untaken = make([]bool, len(out))
	var wg sync.WaitGroup
	var other atomic.Pointer[any] // the first panic that is not a Loader's
	var next atomic.Int64         // the next of missing to take
	one := func(j int) {
		o := &out[missAt[j]]
		if err := ctx.Err(); err != nil {
			// The caller left: the keys not yet taken fail with its
			// error and start no load (Do would start one detached from
			// ctx for each, at once: a flood past MaxMultiLoads).
			o.Err = err
			untaken[missAt[j]] = true
			return
		}
		st := o.Status
		o.Err = ErrGoexit // stays if the Loader calls runtime.Goexit on this goroutine
		defer func() {
			if r := recover(); r != nil {
				if p, ok := r.(*PanicError); ok {
					o.Err = p
					o.TTL = rt.errorLeft(missing[j])
				} else {
					other.CompareAndSwap(nil, &r)
				}
			}
		}()
		var r loaded[V]
		r, o.Status, o.Err = rt.joinLoaded(ctx, missing[j], st)
		o.Value = r.val
		rt.resultLeft(o, missing[j], r)
		if refused(r, o.Err) {
			untaken[missAt[j]] = true // no load (Close): its repeats have what their lookup found too
		}
	}
	var work func()
	work = func() {
		// A Goexit in a key's Loader (run on this goroutine when ctx
		// cannot end and there is no LoadTimeout) ends the goroutine:
		// another takes over the keys left.
		defer func() {
			if next.Load() < int64(len(missing)) {
				wg.Go(work)
			}
		}()
		for j := int(next.Add(1) - 1); j < len(missing); j = int(next.Add(1) - 1) {
			one(j)
		}
	}
	for range min(rt.maxEach, len(missing)) {
		wg.Go(work)
	}
	wg.Wait()
	return untaken, other.Load()
}

// recheck is the coalesce Recheck: a caller about to load k looks at the
// cache (and the cached errors) again, in case a load that just finished
// stored k. Any live value answers, even one with less than RefreshAhead
// left (a Loader may return TTLs that short): the caller found none, and
// a second load of what was just stored is what Recheck is there to stop.
func (rt *RTCache[K, V]) recheck(k K) (loaded[V], bool, error) { return rt.recheckLeft(k, 0) }

// recheckRefresh is the coalesce RecheckGo: a background refresh looks
// again too, but a value with less than RefreshAhead left, the one the
// refresh ahead was started for, does not answer, so that it goes ahead.
func (rt *RTCache[K, V]) recheckRefresh(k K) (loaded[V], bool, error) {
	return rt.recheckLeft(k, rt.refreshAhead)
}

// recheckLeft is recheck taking only a value with at least least left.
func (rt *RTCache[K, V]) recheckLeft(k K, least time.Duration) (loaded[V], bool, error) {
	var r loaded[V]
	if v, st, left, expire := rt.c.recheckRead(k); st == Hit && left >= least {
		r.val, r.expire = v, expire
		return r, true, nil
	}
	return rt.recheckError(k)
}

// dropped is the coalesce Dropped: OnEvict hears of a value a Loader (or
// BatchLoader) gave that no store took, as EvictRejected, a value never
// stored, so that one whose resources OnEvict releases is not lost. (Only
// a load's function gives coalesce values to drop: a recheck's are never
// committed, so never dropped either.)
func (rt *RTCache[K, V]) dropped(k K, r loaded[V]) func() {
	rt.st.dropped.Add(1)
	if rt.c.onEvict == nil {
		return nil
	}
	return func() { rt.c.notify([]shard.Evicted[K, V]{{Key: k, Val: r.val, Reason: shard.Rejected}}) }
}

// commit is the coalesce Commit: it stores a load's outcome while the load
// still holds its key (under the wait map's lock for k, so ordered with
// Set, Delete and Invalidate). OnEvict runs after the lock is released.
func (rt *RTCache[K, V]) commit(k K, r loaded[V], err error) func() {
	if err != nil {
		if err == ErrLoadTimeout && !r.ran {
			r.errTTL = rt.timeoutTTL // this RTCache's timeout: the Loader gave nothing that counts
		}
		if ttl := cmp.Or(r.errTTL, rt.errTTL); ttl > 0 {
			if errs, _ := rt.keepErrors(); errs != nil {
				errs.ForceSet(k, err, ttl)
			}
		}
		return nil
	}
	if errs := rt.errs.Load(); errs != nil {
		errs.Delete(k) // before the value, as in write
	}
	var out []shard.Evicted[K, V]
	rt.c.setAt(k, r.val, r.w, r.expire, r.at, &out)
	if len(out) == 0 {
		return nil // nothing left, or no OnEvict to tell
	}
	return func() { rt.c.notify(out) }
}
