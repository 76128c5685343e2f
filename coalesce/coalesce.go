// Package coalesce runs at most one call per key at a time and hands its
// result to every caller of that key that arrives while it runs: a generic,
// context-aware relative of golang.org/x/sync/singleflight. It is the part
// of ufocache's read-through layer that keeps a stampede of callers of one
// missing key from becoming a stampede of loads on the origin, and it is
// usable on its own.
//
// # Calls and callers
//
// The first caller of a key becomes the call's leader: the call's function
// starts on a goroutine of its own (or on the leader's, when the leader's
// ctx cannot end and there is no LoadTimeout: see Do), and every caller of
// the key, the leader included, waits for the call's result, for its own
// ctx, or (all but the leader) for Options.LockTimeout, whichever comes
// first. A caller that leaves early does not cancel the call: the
// function runs with a context that keeps the leader's values but not its
// cancellation, bounded only by Options.LoadTimeout (and ended by Close,
// at shutdown). Whatever the function does, the callers still waiting
// share its one outcome, errors included: N callers of a failing key make
// one call, not N.
//
// # Failures release the key
//
// A call that returns, panics, calls runtime.Goexit or outlives its load
// timeout finishes, and a call leaves the wait map exactly when it finishes,
// so no key stays locked after any failure. A panic reaches every waiter as
// a *PanicError that keeps the panic value and the stack it was raised on,
// and the leader, if it still waits, panics again with that *PanicError on
// its own goroutine. runtime.Goexit reaches every waiter as ErrGoexit (and
// ends the leader's goroutine if fn ran on it: see Do).
//
// # Shutting down
//
// Close turns away every call that would start a function from then on
// (with ErrClosed) and waits until the functions already started have
// returned and their calls finished; if its ctx ends first, it ends their
// contexts. No goroutine of the Group has work left once a Close returned
// nil; the last function's may still be returning, a moment after it woke
// Close (a leak check waits for it, as synctest.Wait does).
//
// # Calls that wait for calls
//
// A call's function may call the Group (or another Group) for other keys,
// with the ctx it was given. A caller inside a function that would wait
// for a call waiting for that function's own call (its own key, or a loop
// of keys whose functions ask for each other) gets ErrCycle at once
// instead of waiting for ever: each call's ctx carries its place in the
// graph of waits, and such a caller walks it before it waits (cycle.go).
//
// # Holding a key
//
// While a call holds its key, later callers join it rather than start
// another: a second call for the same key starts only after the first one
// finished, after it was detached by Forget, or after it outlived
// Options.LockAge. A caller that starts a call runs Options.Recheck first
// (Options.RecheckGo for Go, if set), which is where a cache is looked at
// again: a caller that missed the cache just before the previous call
// filled it finds the value there instead of loading it a second time.
//
// Options.Commit is how a call's result is stored: it runs when the call
// finishes, only if the call still holds its key (or lost it to LockAge,
// but none younger has been committed and no Forget came since: see
// Options.LockAge), under the same lock as Forget's function. A cache fill
// done in Commit therefore never overwrites a write made through Forget
// after the load began, nor a younger call's result. Options.Finished, by
// contrast, sees every call whose function started, detached or not, with
// the outcome its callers got: where a read-through cache counts its loads
// and their failures.
package coalesce

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puzpuzpuz/xsync/v3"
	"github.com/ufocache/ufocache/internal/hashing"
)

// Options configures a Group. The zero value of every field means no bound
// and no hook.
type Options[K comparable, V any] struct {
	// LockAge is how long a call holds its key. A call older than this no
	// longer holds it: the next caller of the key starts a new call, which
	// holds the key from then on. The old call goes on for the callers
	// already waiting for it. A nil error from it is still committed if,
	// when it finishes, a call that took the key over from it (directly or
	// through others) still holds the key and no younger call of that line
	// has been committed: so an origin whose every call outlasts LockAge
	// still gets its results stored, and a result is never committed after
	// a younger call's, nor after a Forget (which ends the line). Its error
	// is not committed. 0: a call holds its key until it finishes. (After
	// Close, so does every call: callers join a call past LockAge, and a
	// call that took its key over just as Close began, and so could not
	// start, gives the key back.)
	LockAge time.Duration
	// LockTimeout is how long a caller waits for a call that another
	// caller started. Past it the caller gives up with ErrLockTimeout; it
	// does not start a call of its own, and the call goes on for the
	// others. The leader of a call is bounded by its ctx and LoadTimeout
	// instead. 0: wait until the call finishes or ctx ends.
	LockTimeout time.Duration
	// LoadTimeout bounds each call. The function's context ends after it,
	// and if the function has not returned by then, the call finishes at
	// once with ErrLoadTimeout (committed like any error) and whatever the
	// function returns later is dropped. 0: no bound.
	LoadTimeout time.Duration
	// Recheck, if set, runs on the caller's goroutine whenever a caller
	// starts a call, before the call's function. If it returns ok, the call
	// finishes at once with v and err, without the function and without
	// Commit, and its callers see leader == false. (A cache that keeps
	// errors for a while answers with err != nil.)
	Recheck func(key K) (v V, ok bool, err error)
	// RecheckGo, if set, is Recheck for the calls Go starts: a background
	// refresh of a value that is still there may want to load where a
	// caller that found nothing takes what is there. nil: Recheck.
	RecheckGo func(key K) (v V, ok bool, err error)
	// Commit, if set, runs once with the outcome of each call that still
	// holds its key when it finishes, and of each call superseded after
	// LockAge that LockAge says is still committed; a call detached by
	// Forget is not committed. It runs under the wait
	// map's lock for the key, before any waiter sees the result, and so is
	// ordered with Forget's function. It must be short, must not block,
	// must not call the Group and must not call runtime.Goexit (t.FailNow
	// in a test hook): a Goexit cannot be stopped, and would leave the lock
	// held. If it returns a non-nil function, that function runs right
	// after the lock is released (for callbacks that must not run under
	// it), before the waiters wake; for a DoBatch's keys, once every key
	// of the batch is committed and free, so that it may call the Group
	// for any of them. A panic in Commit is raised again once the key is
	// released and the waiters woken.
	Commit func(key K, v V, err error) (after func())
	// Finished, if set, runs once for each call whose function was
	// started (a DoBatch's key counts as started once fn is given it),
	// with the error every caller of the call sees: fn's, a *PanicError,
	// ErrGoexit or ErrLoadTimeout; nil if it succeeded. A call that
	// Recheck answered is not reported; one detached by Forget or
	// superseded after LockAge is. It runs when the call finishes, under
	// the wait map's lock for key, just before Commit, so that a count
	// kept by Finished is up to date for anyone who sees the call's
	// outcome: a waiter (they wake after it), a reader of what Commit
	// stored, or Len once the key is free; and it agrees with what the
	// callers saw, even for a call that finished right at its
	// LoadTimeout. It must be short, and must not block, panic or call the
	// Group (a panic is raised again once the lock is released, as
	// Commit's).
	Finished func(key K, err error)
	// Dropped, if set, is told of each value a call's function returned
	// without an error that no Commit stored: the call was detached by
	// Forget, or superseded after LockAge and not committed, or the
	// function returned past LoadTimeout (a batch's keys each, unless the
	// batch gave the wrong number of results, which match no keys). A
	// value a resource owns (a connection, a pooled buffer) is then never
	// lost without a word. It runs as Commit does for a detached or
	// superseded call (under the wait map's lock for key, its after
	// function once the lock is released and before the waiters wake), and
	// on the function's goroutine, with no lock held, for a late one
	// (before Close may return); the same rules hold.
	Dropped func(key K, v V) (after func())
}

// Group coalesces calls by key. Create it with New; its methods are safe
// for concurrent use.
type Group[K comparable, V any] struct {
	calls *xsync.MapOf[K, *call[V]] // the wait map: key → the call that holds it
	opts  Options[K, V]
	life  *life // Close's state; its stop is every function's Done
}

// call is one execution of a function, shared by the callers of one key.
type call[V any] struct {
	done  chan struct{} // closed when the result is ready
	start time.Time     // when the call was created, for LockAge

	// finished is set by the one finisher (the function's return or the
	// load timeout) before it writes the result.
	finished atomic.Bool
	// detached is set by Forget before its f runs: the call is still in
	// the map, for a Load to find, until f has returned.
	detached atomic.Bool

	// Written once by the finisher before done is closed; read only after.
	val V
	err error
	end ending // how the call finished

	// started is set before fn is started (and before its load timer), by
	// the goroutine that starts it: Finished reports only such calls.
	started bool

	batch *batch    // the DoBatch that created this call, or nil
	node  node      // its place in the graph of waits (cycle.go), if not a batch's
	fnCtx fnContext // fn's context, if not a batch's

	// line is shared by a call and the calls that took its key over after
	// LockAge, one after another (nil until the first does); seq is the
	// call's place in it (0 for the first). Both are written and read
	// under the wait map's lock for the key.
	line *line
	seq  uint64
	// prev is the call this one took the key over from (LockAge), if
	// any, and out says that the call has left the wait map (or was
	// never in it): both written and read under the wait map's lock for
	// the key. A call Close turns away gives the key back to prev, whose
	// outcome is still to be committed (see settle).
	prev *call[V]
	out  bool
}

// line is a run of calls of one key, each superseding the previous one
// after LockAge, with no Forget between them.
type line struct {
	committed uint64 // the seq of the youngest call committed, + 1 (0: none yet)
}

// ending says how a call finished.
type ending uint8

const (
	returned  ending = iota // the function returned, or the load timed out
	rechecked               // Recheck answered; the function never ran
	panicked                // the function panicked: err is its *PanicError
	refused                 // the Group was closed: err is ErrClosed; the function never ran
)

// The errors of calls say "ufocache:", not "coalesce:": ufocache's
// RTCache returns them as its own (ufocache.ErrLockTimeout is this
// ErrLockTimeout, and so on), and its users read them in their logs.

// ErrLockTimeout is returned to a caller that waited Options.LockTimeout for
// another caller's call without seeing it finish.
var ErrLockTimeout = errors.New("ufocache: lock timeout: gave up waiting for another caller's load")

// ErrLoadTimeout is the outcome of a call that ran longer than
// Options.LoadTimeout.
var ErrLoadTimeout = errors.New("ufocache: load timeout: the load did not finish in time")

// ErrClosed is the outcome of a call that would have started its function
// after Close.
var ErrClosed = errors.New("ufocache: closed: no new load starts")

// ErrGoexit is the outcome of a call whose function called runtime.Goexit.
var ErrGoexit = errors.New("ufocache: the load's function called runtime.Goexit")

// PanicError is the outcome of a call whose function panicked.
type PanicError struct {
	// Value is the value the function panicked with.
	Value any
	// Stack is the stack of the goroutine that panicked, at the panic.
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("ufocache: the load's function panicked: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value if it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// New validates opts and returns an empty Group.
func New[K comparable, V any](opts Options[K, V]) (*Group[K, V], error) {
	switch {
	case opts.LockAge < 0:
		return nil, errors.New("coalesce: LockAge must be >= 0 (0 means no limit)")
	case opts.LockTimeout < 0:
		return nil, errors.New("coalesce: LockTimeout must be >= 0 (0 means no limit)")
	case opts.LoadTimeout < 0:
		return nil, errors.New("coalesce: LoadTimeout must be >= 0 (0 means no limit)")
	}
	// xsync's default hasher dereferences interface keys (a nil one
	// panics); the library's seeded hasher handles every comparable key.
	h := hashing.New[K](nil, false)
	calls := xsync.NewMapOfWithHasher[K, *call[V]](func(k K, _ uint64) uint64 { return h.Sum(k) })
	return &Group[K, V]{calls: calls, opts: opts, life: newLife()}, nil
}

// Do returns the outcome of fn for key, making sure that only one fn runs
// for key at a time: if a call for key is in flight, Do waits for it rather
// than starting another. fn runs on a goroutine of its own, with a context
// that keeps ctx's values but not its cancellation (see
// Options.LoadTimeout and Close), so that its caller can leave and the
// others still get the result. A caller that cannot leave (ctx.Done() is
// nil, as for context.Background, or ctx is the one a function was given,
// which only Close ends) runs fn on its own goroutine when there is no
// LoadTimeout: that saves a goroutine start and a wake-up per load, and a
// runtime.Goexit in fn then ends the caller's goroutine, as if it had
// called fn itself (the other callers still get ErrGoexit).
//
// A caller that joined a call that Recheck answered looks again (the value
// was read before it came), and so may wait up to LockTimeout once more.
//
// leader reports whether this caller started the call and fn ran for it
// (not Recheck). err is fn's error, a *PanicError, ErrGoexit,
// ErrLoadTimeout, ErrLockTimeout, ErrCycle, or ctx.Err() if ctx ended
// first. If fn
// panicked and this caller is its leader, Do panics with the *PanicError.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, leader bool, err error) {
	c, own, err := g.do(ctx, key, fn)
	// A joined call that Recheck answered carries a value another caller
	// read from the cache, perhaps before this one came and before a
	// write that changed it since: look again (the key is free by now).
	for err == nil && !own && c.end == rechecked {
		c, own, err = g.do(ctx, key, fn)
	}
	if err != nil {
		return v, own, err
	}
	v, leader, err = outcome(c, own)
	if leader && c.end == panicked {
		// fn panicked (a *PanicError it merely returned is its error).
		panic(err)
	}
	return v, leader, err
}

// do claims key, runs fn if this caller leads, and waits for the call: it
// returns the call once done, or the error that ended the wait.
func (g *Group[K, V]) do(ctx context.Context, key K, fn func(context.Context) (V, error)) (*call[V], bool, error) {
	c, own := g.claim(key, nil)
	if own {
		if cannotLeave(ctx) && g.opts.LoadTimeout <= 0 {
			g.runHere(ctx, key, c, fn)
		} else {
			g.start(ctx, key, c, fn, g.opts.Recheck)
		}
	}
	select {
	case <-c.done:
		return c, own, nil
	default:
	}
	var timeout <-chan struct{}
	if !own {
		var stop func() bool
		timeout, stop = g.lockTimer()
		defer stop()
	}
	return c, own, wait(ctx, c, timeout)
}

// Go starts fn for key in the background, unless a call for key is in
// flight or RecheckGo (or Recheck) answers: it reports whether fn was
// started. It never waits. The call is the same as one Do starts: callers
// of key that come while it runs share its result, and Commit stores it. A
// panic in fn has no leader to reach; it is the call's error (see Commit).
func (g *Group[K, V]) Go(ctx context.Context, key K, fn func(context.Context) (V, error)) bool {
	c, leader := g.claim(key, nil)
	if !leader {
		return false
	}
	recheck := g.opts.RecheckGo
	if recheck == nil {
		recheck = g.opts.Recheck
	}
	return g.start(ctx, key, c, fn, recheck)
}

// GoRecheck is Go with recheck in place of RecheckGo and Recheck: it runs
// once this caller holds key, as RecheckGo would, and answers the call if
// it reports ok, so that fn does not start. With a nil recheck, fn starts
// unless a call for key is in flight (or the Group is closed), whatever a
// cache holds for key: for a caller that wants key loaded again now (a
// value it knows to be out of date, though not expired). A caller that
// looked at the cache before the claim (a kept error that holds off
// loads) looks again in recheck: a call that finished between its look
// and the claim may have changed what it found.
func (g *Group[K, V]) GoRecheck(ctx context.Context, key K, fn func(context.Context) (V, error), recheck func(K) (V, bool, error)) bool {
	c, leader := g.claim(key, nil)
	if !leader {
		return false
	}
	return g.start(ctx, key, c, fn, recheck)
}

// Forget detaches the call in flight for key, if there is one, and reports
// whether there was. Callers of key that come after start a new call; the
// detached call's result still reaches the callers waiting for it but is
// not committed. f, if not nil, runs under the lock that Commit runs under:
// every commit of key happens either entirely before f or not at all. f
// must be short, must not call the Group and, as Commit, must not call
// runtime.Goexit.
func (g *Group[K, V]) Forget(key K, f func()) bool {
	return g.ForgetUnless(key, func() bool {
		if f != nil {
			f()
		}
		return false
	})
}

// ForgetUnless is Forget, except that the call in flight stays attached if
// f returns true (f left what the call would commit over as it was): it
// commits as if f had run just before. While f runs, the call reads as
// detached to callers that look without the lock, who wait for the lock
// instead of joining it. If f panics, the call is detached and the panic
// goes on once the lock is released.
func (g *Group[K, V]) ForgetUnless(key K, f func() (keep bool)) bool {
	found := false
	var fPanic any
	g.calls.Compute(key, func(cur *call[V], loaded bool) (*call[V], bool) {
		if loaded {
			cur.detached.Store(true)
		}
		keep := false
		// As in finish: a panic must not leave the bucket locked.
		func() {
			defer func() { fPanic = recover() }()
			keep = f()
		}()
		if keep { // never set if f panicked
			if loaded {
				cur.detached.Store(false)
			}
			return cur, !loaded
		}
		found = loaded
		return nil, true
	})
	if fPanic != nil {
		panic(fPanic)
	}
	return found
}

// ForgetAll detaches every call in flight, as Forget detaches one (with no
// f): none of them is committed. A call that starts while it runs may be
// detached too, or not.
func (g *Group[K, V]) ForgetAll() {
	g.Keys(func(key K) { g.Forget(key, nil) })
}

// Keys calls f with the key of each call in the wait map, finished calls
// whose results are yet to be committed and calls older than LockAge
// included, with no lock held: f may call the Group (Forget). A call that
// is in the map from before Keys starts until f is called for its key is
// seen; one that starts or leaves meanwhile may be seen or not.
func (g *Group[K, V]) Keys(f func(key K)) {
	g.calls.Range(func(key K, _ *call[V]) bool {
		f(key)
		return true
	})
}

// Len returns the number of calls in flight that hold their key (a call
// older than LockAge no longer does).
func (g *Group[K, V]) Len() int {
	if g.opts.LockAge <= 0 {
		return g.calls.Size()
	}
	n := 0
	g.calls.Range(func(_ K, c *call[V]) bool {
		if g.holds(c) {
			n++
		}
		return true
	})
	return n
}

// InFlight reports whether a call holds key (a call older than LockAge no
// longer does). It only reads the wait map.
func (g *Group[K, V]) InFlight(key K) bool {
	c, ok := g.calls.Load(key)
	return ok && g.holds(c)
}

// claim returns the call that holds key, creating it if there is none (or
// if the one there is older than LockAge). leader reports that it was
// created by this claim. b marks calls created for a DoBatch.
func (g *Group[K, V]) claim(key K, b *batch) (c *call[V], leader bool) {
	if key != key { //nolint:staticcheck // a NaN-like key: see below
		// It could never be found again to be released, so it is not
		// shared: each caller runs its own call, outside the wait map.
		return &call[V]{done: make(chan struct{}), start: time.Now(), batch: b}, true
	}
	// A finished call stays in the map while its Commit stores the result
	// (under the map's lock for key). A Load, which takes no lock, may see
	// it after that store, and after a write that replaced or deleted the
	// stored value: joining it then would answer with a value older than
	// the caller. So a finished call is left to Compute, which waits for
	// the lock: it joins the call only if its Commit is still to come, and
	// otherwise finds the key free. So is a call that Forget is
	// detaching: its f (a write) may have stored already.
	if cur, ok := g.calls.Load(key); ok && g.holds(cur) && !cur.finished.Load() && !cur.detached.Load() {
		return cur, false
	}
	g.calls.Compute(key, func(cur *call[V], loaded bool) (*call[V], bool) {
		if loaded && g.holds(cur) {
			c, leader = cur, false
			return cur, false
		}
		// Absent, or held longer than LockAge: the old call, if any,
		// loses the key; its finish will find another call here, of
		// its line (see settle).
		c = &call[V]{done: make(chan struct{}), start: time.Now(), batch: b}
		if loaded {
			if cur.line == nil {
				cur.line = &line{}
			}
			c.line, c.seq, c.prev = cur.line, cur.seq+1, cur
		}
		leader = true
		return c, false
	})
	return c, leader
}

// holds reports whether c, in the wait map, still holds its key: it is
// younger than LockAge, or the Group is closed, where a call that took the
// key over could not start its function, and so would only end the line
// (see settle) that c's outcome is still stored in.
func (g *Group[K, V]) holds(c *call[V]) bool {
	return !g.tooOld(c) || g.Closed()
}

func (g *Group[K, V]) tooOld(c *call[V]) bool {
	return g.opts.LockAge > 0 && time.Since(c.start) >= g.opts.LockAge
}

// recheck runs recheck (Options.Recheck or RecheckGo) for a call this
// caller just created, and finishes the call with its answer. It reports
// whether it did.
func (g *Group[K, V]) recheck(key K, c *call[V], recheck func(K) (V, bool, error)) bool {
	if recheck == nil {
		return false
	}
	through := false
	defer func() {
		if through {
			return
		}
		// Recheck panicked or called runtime.Goexit: c, already in the
		// wait map, must not hold key forever. Its waiters get the panic
		// (or ErrGoexit); this caller's goroutine goes on panicking.
		r := recover()
		var err error = ErrGoexit
		if r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
		var zero V
		g.finishWith(key, c, zero, err, returned, false)
		if r != nil {
			panic(r)
		}
	}()
	v, ok, err := recheck(key)
	through = true
	if !ok {
		return false
	}
	g.finishWith(key, c, v, err, rechecked, false)
	return true
}

// start runs fn for the call c that this caller leads, unless recheck
// answers first. It reports whether fn was started.
func (g *Group[K, V]) start(ctx context.Context, key K, c *call[V], fn func(context.Context) (V, error), recheck func(K) (V, bool, error)) bool {
	if g.recheck(key, c, recheck) || g.refuse(key, c) {
		return false
	}
	c.started = true
	lctx, cancel := g.loadContext(ctx, &c.fnCtx, &c.node)
	timer := g.onLoadTimeout(lctx, func() {
		var zero V
		g.finish(key, c, zero, ErrLoadTimeout)
	})
	go func() {
		defer g.life.exit(&c.fnCtx)
		defer cancel()
		g.run(lctx, key, c, fn, timer)
	}()
	return true
}

// refuse finishes c, which this caller leads, with ErrClosed (not
// committed) if the Group is closed, and reports whether it did. If not,
// c's function is counted as running until life.exit.
func (g *Group[K, V]) refuse(key K, c *call[V]) bool {
	if g.life.enter() {
		return false
	}
	var zero V
	g.finishWith(key, c, zero, ErrClosed, refused, false)
	return true
}

// run runs fn for the call c and finishes c with its outcome, after its
// load timer's stop, whether fn returns, panics or calls runtime.Goexit.
func (g *Group[K, V]) run(ctx context.Context, key K, c *call[V], fn func(context.Context) (V, error), timer *loadTimer) {
	var v V
	end := returned
	err := ErrGoexit // stays if fn calls runtime.Goexit: only the defers run
	defer func() {
		// fn returned (or panicked) past its LoadTimeout, perhaps
		// because its ctx ended there, with ctx.Err(): its outcome is
		// dropped and every caller gets ErrLoadTimeout, as LoadTimeout
		// says. Either the timeout's own finish does it (it came first),
		// or this one. Finishing with fn's outcome raced the timeout's,
		// and 14 callers in 300 got fn's context.DeadlineExceeded.
		// Close's stop ends ctx too, but that is no timeout: fn's
		// outcome stands if it comes before the deadline, which still
		// bounds the callers (see onLoadTimeout).
		if !timer.stop() {
			g.drop(key, v, err, end) // the timeout finished c
			return
		}
		// Read after stop: fn may have returned at its deadline, before
		// the timeout's function ran. (Without a LoadTimeout, ctx has no
		// deadline.)
		if ctx.Err() == context.DeadlineExceeded {
			defer g.drop(key, v, err, end) // once c is finished, as the timeout's would be
			var zero V
			v, err, end = zero, ErrLoadTimeout, returned
		}
		g.finishWith(key, c, v, err, end, true)
	}()
	v, end, err = protect(ctx, fn)
}

// drop tells Dropped of a value fn returned past its LoadTimeout (end and
// err say whether it returned one), and runs its after function.
func (g *Group[K, V]) drop(key K, v V, err error, end ending) {
	if end != returned || err != nil || g.opts.Dropped == nil {
		return
	}
	if after := g.opts.Dropped(key, v); after != nil {
		after()
	}
}

// cannotLeave reports whether a caller with ctx can stop waiting only
// when the call ends: ctx has no Done channel, or it is a call's function's
// own, which ends only at Close (a loop of loads then runs each on the
// goroutine of the load that asks for it, as before functions' contexts
// had a Done channel: the wait is added before the next load starts, and
// the cycle check sees it in the order the loads ask).
func cannotLeave(ctx context.Context) bool {
	if ctx.Done() == nil {
		return true
	}
	_, fn := ctx.(*fnContext)
	return fn
}

// runHere is start for a caller that cannot leave: fn runs on the
// caller's goroutine. ctx has no deadline and no cancellation to strip
// (a function's context ends only at its Group's Close).
func (g *Group[K, V]) runHere(ctx context.Context, key K, c *call[V], fn func(context.Context) (V, error)) {
	if !g.recheck(key, c, g.opts.Recheck) && !g.refuse(key, c) {
		defer g.life.exit(&c.fnCtx)
		c.started = true
		if me := nodeOf(ctx); me != nil {
			// The caller's own call waits for c while fn runs here. c is
			// new, its function not started: no wait of c's can close a
			// cycle yet.
			me.add(&c.node)
			defer me.done(&c.node)
		}
		c.fnCtx = fnContext{parent: ctx, node: &c.node}
		g.life.stopFor(&c.fnCtx)
		g.run(&c.fnCtx, key, c, fn, nil)
	}
}

// loadContext returns the context a call's function runs with: ctx's
// values without its cancellation, marked as inside the call whose node
// is n (fc, which it sets, is the call's or the batch's), bounded by
// LoadTimeout.
func (g *Group[K, V]) loadContext(ctx context.Context, fc *fnContext, n *node) (context.Context, context.CancelFunc) {
	*fc = fnContext{parent: ctx, node: n}
	g.life.stopFor(fc)
	var lctx context.Context = fc
	if g.opts.LoadTimeout > 0 {
		return context.WithTimeout(lctx, g.opts.LoadTimeout)
	}
	return lctx, func() {}
}

// onLoadTimeout arranges for f to run once the load context's deadline
// passes, unless the returned timer's stop is called first (nil: no
// LoadTimeout, nothing to stop). The load context also ends by Close's
// stop (its Err is then context.Canceled, and its deadline's timer is
// stopped): that is no timeout, and the deadline still bounds the
// callers, so f is then put on a timer of its own for what is left of
// it. The load context's cancel runs after stop.
func (g *Group[K, V]) onLoadTimeout(lctx context.Context, f func()) *loadTimer {
	if g.opts.LoadTimeout <= 0 {
		return nil
	}
	t := &loadTimer{lctx: lctx, f: f}
	t.fired.Add(1)
	t.stopF = context.AfterFunc(lctx, t.fire)
	return t
}

// loadTimer is a call's (or a batch's) load timeout: see onLoadTimeout.
// One allocation holds it all, where channels and closures cost five.
type loadTimer struct {
	lctx  context.Context
	f     func()
	stopF func() bool // stops fire
	fired sync.WaitGroup
	late  *time.Timer // set by fire, if Close's stop came first
	lated sync.WaitGroup
}

// fire runs when lctx ends.
func (t *loadTimer) fire() {
	defer t.fired.Done()
	if t.lctx.Err() == context.DeadlineExceeded {
		t.f()
		return
	}
	d, _ := t.lctx.Deadline()
	t.lated.Add(1)
	t.late = time.AfterFunc(time.Until(d), func() {
		defer t.lated.Done()
		t.f()
	})
}

// stop reports whether it stopped f; if not, it returns once f has
// returned: f runs on a goroutine of its own and finishes calls, with
// their Commit and after function, that Close must wait for, and the
// function's goroutine, which Close counts, waits for it here.
func (t *loadTimer) stop() bool {
	if t == nil || t.stopF() {
		return true
	}
	t.fired.Wait()
	if t.late == nil {
		return false // f ran
	}
	if t.late.Stop() {
		t.lated.Done() // its function will not run
		return true
	}
	t.lated.Wait()
	return false
}

// protect runs fn, turning a panic into a *PanicError; end says whether
// fn returned or panicked.
func protect[V any](ctx context.Context, fn func(context.Context) (V, error)) (v V, end ending, err error) {
	defer func() {
		// recover returns nil during runtime.Goexit, so a Goexit passes.
		if r := recover(); r != nil {
			end, err = panicked, &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	v, err = fn(ctx)
	return v, returned, err
}

// finish records the outcome of c, commits it if c still holds key,
// removes c from the wait map and wakes its waiters. Only the first finish
// of a call counts; it reports whether this one did.
func (g *Group[K, V]) finish(key K, c *call[V], v V, err error) bool {
	return g.finishWith(key, c, v, err, returned, true)
}

// finishWith is finish with how the call ended; commit says whether
// Commit may store the outcome.
func (g *Group[K, V]) finishWith(key K, c *call[V], v V, err error, end ending, commit bool) bool {
	f, ok := g.settle(key, c, v, err, end, commit)
	if ok {
		g.release(f)
	}
	return ok
}

// settled is a call whose outcome is recorded and committed, and which has
// left the wait map, but whose waiters do not know yet (see release).
type settled[K comparable, V any] struct {
	key         K
	c           *call[V]
	after       func() // Commit's after function, if any
	commitPanic any
}

// settle records the outcome of c, commits it if c still holds key and
// removes c from the wait map. Only the first settle of a call counts; it
// reports whether this one did.
func (g *Group[K, V]) settle(key K, c *call[V], v V, err error, end ending, commit bool) (settled[K, V], bool) {
	if !c.finished.CompareAndSwap(false, true) {
		return settled[K, V]{}, false
	}
	// Safety: only the goroutine that won the CompareAndSwap writes the
	// result, and waiters read it only after done is closed.
	c.val, c.err, c.end = v, err, end
	f := settled[K, V]{key: key, c: c}
	// xsync does not release the bucket lock if this function panics, so
	// a panicking Finished or Commit is caught here and raised again once
	// the lock is released. (Nor if Commit calls runtime.Goexit, which
	// nothing can stop: see Options.Commit.)
	guard := func(fn func()) {
		defer func() {
			if r := recover(); r != nil && f.commitPanic == nil {
				f.commitPanic = r
			}
		}()
		fn()
	}
	g.calls.Compute(key, func(cur *call[V], loaded bool) (*call[V], bool) {
		if c.started && g.opts.Finished != nil {
			// Before Commit stores the outcome and the key is freed.
			guard(func() { g.opts.Finished(key, err) })
		}
		c.out = true
		prev := c.prev
		c.prev = nil
		if !loaded || cur != c {
			// c was detached or superseded: leave the key's holder be.
			// A superseded c's value is still stored while a younger
			// call of its line holds the key and none younger than c
			// was committed (no Forget came between: it would have
			// ended the line), so that an origin slower than LockAge
			// gets its results kept; the holder, younger, commits
			// over it.
			switch {
			case commit && err == nil && loaded && c.line != nil && cur.line == c.line && c.seq >= c.line.committed:
				c.line.committed = c.seq + 1
				if g.opts.Commit != nil {
					guard(func() { f.after = g.opts.Commit(key, v, err) })
				}
			case commit && err == nil && g.opts.Dropped != nil:
				guard(func() { f.after = g.opts.Dropped(key, v) })
			}
			return cur, !loaded
		}
		if commit && g.opts.Commit != nil {
			guard(func() { f.after = g.opts.Commit(key, v, err) })
		}
		if end == refused && prev != nil && !prev.out {
			// c took the key over from prev just before Close began, and
			// could not start: prev holds the key again (see holds), so
			// that its outcome, the only one to come, is still committed.
			return prev, false
		}
		return nil, true
	})
	return f, true
}

// release ends a settled call: its after function, the panic of Finished
// or Commit raised again, then its waiters wake.
func (g *Group[K, V]) release(f settled[K, V]) {
	defer close(f.c.done)
	if f.commitPanic != nil {
		defer panic(f.commitPanic) // after what a Commit that ran left to do
	}
	if f.after != nil {
		f.after()
	}
}

// finishAll finishes a batch's calls, the i-th of keys[i], with the
// outcomes out(i) gives. Every call is settled (committed and out of the
// wait map) before any is released: an after function (RTCache's OnEvict)
// that calls the Group for another key of the batch then finds that key
// free, rather than joining a call only this goroutine could finish. Each
// call is then released in turn, whatever the others' after functions do:
// the first panic among them is raised again at the end, and a
// runtime.Goexit ends the goroutine once every call is released.
func (g *Group[K, V]) finishAll(keys []K, calls []*call[V], out func(i int) (V, error)) {
	g.finishAllWith(keys, calls, returned, true, out)
}

// finishAllWith is finishAll with how the calls ended; commit says
// whether Commit may store their outcomes.
func (g *Group[K, V]) finishAllWith(keys []K, calls []*call[V], end ending, commit bool, out func(i int) (V, error)) {
	fs := make([]settled[K, V], 0, len(calls))
	for i, c := range calls {
		v, err := out(i)
		if f, ok := g.settle(keys[i], c, v, err, end, commit); ok {
			fs = append(fs, f)
		}
	}
	var first any
	g.releaseFrom(fs, &first)
	if first != nil {
		panic(first)
	}
}

// releaseFrom releases fs in order, each whatever the after functions of
// the others do: a panic is recovered (into first, if it is the first),
// and if one calls runtime.Goexit, a deferred call releases the rest
// before the goroutine ends. It loops: it used to recurse once per call,
// in deferred calls that each ran on top of the last, and a batch of
// 30,000 keys overflowed an 8 MiB stack (millions, the default 1 GiB).
func (g *Group[K, V]) releaseFrom(fs []settled[K, V], first *any) {
	i := 0
	defer func() {
		if i < len(fs) { // fs[i]'s after function called runtime.Goexit
			g.releaseFrom(fs[i+1:], first)
		}
	}()
	for ; i < len(fs); i++ {
		g.releaseOne(fs[i], first)
	}
}

// releaseOne releases f, recovering a panic of its after function into
// first, if it is the first.
func (g *Group[K, V]) releaseOne(f settled[K, V], first *any) {
	defer func() {
		if r := recover(); r != nil && *first == nil {
			*first = r
		}
	}()
	g.release(f)
}

// lockTimer returns a channel closed after LockTimeout (nil, which never
// fires, without one) and the function that releases its timer.
func (g *Group[K, V]) lockTimer() (<-chan struct{}, func() bool) {
	if g.opts.LockTimeout <= 0 {
		return nil, func() bool { return true }
	}
	// A closed channel, unlike a timer's, tells every receiver.
	ch := make(chan struct{})
	t := afterFunc(g.opts.LockTimeout, func() { close(ch) })
	return ch, t.Stop
}

// afterFunc is time.AfterFunc; a test sees the lock timers through it.
var afterFunc = time.AfterFunc

// wait waits until c finishes, ctx ends or timeout is closed. A call that
// has finished wins whatever else is ready (select would pick at random: a
// DoBatch that reached a joined key after its lock timer fired got
// ErrLockTimeout for a call that had finished in time).
func wait[V any](ctx context.Context, c *call[V], timeout <-chan struct{}) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	me, t, err := enter(ctx, c)
	if err != nil {
		return err
	}
	if me != nil {
		defer me.done(t)
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return ErrLockTimeout
	}
}

// outcome returns c's result to one of its callers once done is closed.
// own says that the caller created c.
func outcome[V any](c *call[V], own bool) (V, bool, error) {
	return c.val, own && c.end != rechecked && c.end != refused, c.err
}
