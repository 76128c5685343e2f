package coalesce

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
)

// Result is one key's outcome in DoBatch, and what a batch function
// returns for each of its keys.
type Result[V any] struct {
	Val V
	Err error
	// Leader, in DoBatch's results, reports that the key was this
	// DoBatch's to load and fn ran for it (not Recheck). A batch
	// function's Leader is ignored.
	Leader bool
}

// ErrBatchSize, wrapped with the counts, is the outcome of every key of a
// batch whose function returned a number of results other than the number
// of keys it was given.
var ErrBatchSize = errors.New("ufocache: the batch load returned the wrong number of results")

// batch marks the calls that one DoBatch created.
type batch struct {
	// panicked is set, if fn panicked and its outcome finishes the
	// batch's calls, before it does. It is atomic: the caller reads it
	// while the batch's goroutine may still run.
	panicked atomic.Pointer[PanicError]
	node     node      // the calls' place in the graph of waits (cycle.go)
	fnCtx    fnContext // fn's context
}

// DoBatch returns the outcome for each of keys, in order, loading the keys
// that need it with one call of fn.
//
// A key whose call is in flight joins that call, as Do would, whoever
// started it (and, as Do does, looks again if Recheck answered that call).
// DoBatch claims the other keys, runs Recheck for each, and passes those
// left to one call of fn, on a goroutine of its own (detached from ctx's
// cancellation, bounded by LoadTimeout and ended by Close), each key
// once, in the order of its first appearance in keys. Each of them is a
// call of its own in the wait map: a Do of one of those keys while fn
// runs joins it, and Commit runs for each key.
//
// fn returns one Result per key it was given, in the same order; a key's
// Err fails that key only. An error from fn, a panic, runtime.Goexit or the
// load timeout fails every key of the batch, and so does a result of the
// wrong length, with ErrBatchSize.
//
// Keys joined to other callers' calls give up after LockTimeout (one bound
// for the whole DoBatch, and one more for the keys that look again); every
// key gives up when ctx ends. If fn itself panicked, DoBatch panics with
// the *PanicError once its keys have their outcome (a *PanicError that fn
// returns as one key's Err is only that key's error; a panic after the
// load timeout finished the keys is dropped, as is any late outcome).
func (g *Group[K, V]) DoBatch(ctx context.Context, keys []K, fn func(ctx context.Context, keys []K) ([]Result[V], error)) []Result[V] {
	out := make([]Result[V], len(keys))
	if len(keys) == 0 {
		return out
	}
	b := new(batch)
	calls := make([]*call[V], len(keys))
	mine, mineCalls, joined := g.claimBatch(keys, b, g.opts.Recheck, calls)
	g.startBatch(ctx, b, mine, mineCalls, fn)
	var timeout <-chan struct{}
	if joined {
		var stop func() bool
		timeout, stop = g.lockTimer()
		defer stop()
	}
	var panicked *PanicError // fn's panic, if it was an own key's outcome
	var again []K            // joined keys that Recheck answered
	var at []int             // their places in keys
	for i, c := range calls {
		own := c.batch == b
		to := timeout
		if own {
			to = nil
		}
		if err := wait(ctx, c, to); err != nil {
			out[i].Err, out[i].Leader = err, own
			continue
		}
		if !own && c.end == rechecked {
			// As in Do: a joined call that Recheck answered carries a
			// value read before this caller came, perhaps before a write
			// that changed it. The key is looked at again, below.
			again = append(again, keys[i])
			at = append(at, i)
			continue
		}
		r := &out[i]
		r.Val, r.Leader, r.Err = outcome(c, own)
		// fn's panic is stored before it finishes any key. A panic that
		// came after the load timeout finished the keys is dropped, as
		// Do drops it.
		if p := b.panicked.Load(); r.Leader && p != nil && r.Err == error(p) {
			panicked = p
		}
	}
	if panicked != nil {
		panic(panicked)
	}
	if len(again) > 0 {
		for j, r := range g.DoBatch(ctx, again, fn) {
			out[at[j]] = r
		}
	}
	return out
}

// GoBatch starts fn in the background for those of keys that no call is
// in flight for and that RecheckGo (or Recheck) does not answer, each key
// once, as Go does for one key: it returns how many keys fn was started
// for (0: fn was not started). It never waits. Each key is a call of its
// own, as in DoBatch: callers of a key that come while fn runs share its
// outcome, and Commit stores it. A panic in fn has no leader to reach; it
// is every key's error.
func (g *Group[K, V]) GoBatch(ctx context.Context, keys []K, fn func(ctx context.Context, keys []K) ([]Result[V], error)) int {
	recheck := g.opts.RecheckGo
	if recheck == nil {
		recheck = g.opts.Recheck
	}
	b := new(batch)
	mine, mineCalls, _ := g.claimBatch(keys, b, recheck, nil)
	if !g.startBatch(ctx, b, mine, mineCalls, fn) {
		return 0
	}
	return len(mine)
}

// claimBatch claims keys for the batch b, each once, in the order of its
// first appearance: it returns the keys b created calls for that recheck
// did not answer (mine, with their calls), and whether any key joined a
// call in flight. If calls is not nil, calls[i] is set to the call of
// keys[i], whoever holds it.
func (g *Group[K, V]) claimBatch(keys []K, b *batch, recheck func(K) (V, bool, error), calls []*call[V]) (mine []K, mineCalls []*call[V], joined bool) {
	var first map[K]int // first index of each key, to spot duplicates
	if len(keys) > 1 {
		first = make(map[K]int, len(keys))
	}
	claiming := true
	defer func() {
		// A key that panics while being claimed (an unhashable value in an
		// interface key, or Recheck) must not leave the keys claimed before
		// it held forever: they fail with its panic, which then goes on
		// (a panic of their after functions, which it caused, is dropped).
		// A runtime.Goexit in Recheck (recover returns nil then) fails
		// them with ErrGoexit and goes on, as in Do, unless an after
		// function panics: that panic goes on instead.
		if !claiming {
			return
		}
		r := recover()
		var err error = ErrGoexit
		if r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
			defer panic(r)               // runs second: the key's panic goes on
			defer func() { recover() }() // runs first: drops an after function's
		}
		g.finishAll(mine, mineCalls, func(int) (v V, _ error) { return v, err })
	}()
	for i, k := range keys {
		if first != nil {
			if j, ok := first[k]; ok {
				if calls != nil {
					calls[i] = calls[j]
				}
				continue
			}
			first[k] = i
		}
		c, own := g.claim(k, b)
		if calls != nil {
			calls[i] = c
		}
		switch {
		case !own:
			joined = true
		case !g.recheck(k, c, recheck):
			mine = append(mine, k)
			mineCalls = append(mineCalls, c)
		}
	}
	claiming = false
	return mine, mineCalls, joined
}

// startBatch runs fn for the calls a DoBatch or GoBatch created, one per
// key, and reports whether it did: not for no keys, nor once the Group is
// closed (the calls then finish with ErrClosed, not committed).
func (g *Group[K, V]) startBatch(ctx context.Context, b *batch, keys []K, calls []*call[V], fn func(context.Context, []K) ([]Result[V], error)) bool {
	if len(keys) == 0 {
		return false
	}
	if !g.life.enter() {
		g.finishAllWith(keys, calls, refused, false, func(int) (v V, _ error) { return v, ErrClosed })
		return false
	}
	fail := func(err error) {
		g.finishAll(keys, calls, func(int) (v V, _ error) { return v, err })
	}
	for _, c := range calls {
		c.started = true
	}
	lctx, cancel := g.loadContext(ctx, &b.fnCtx, &b.node)
	// Either the load timeout finishes the batch's calls or fn's outcome
	// does, never both, so that every key of a batch gets the same one (a
	// timeout racing fn's return used to split the keys between them):
	// stop, which fn's side calls first, reports whether the timeout's
	// function will run.
	timer := g.onLoadTimeout(lctx, func() { fail(ErrLoadTimeout) })
	arg := slices.Clone(keys) // fn may keep or change its slice
	go func() {
		defer g.life.exit(&b.fnCtx)
		var res []Result[V]
		end := returned
		err := ErrGoexit // stays if fn calls runtime.Goexit
		defer func() {
			stopped := timer.stop()
			defer cancel()
			if !stopped {
				g.dropAll(keys, res, err, end) // the load timeout finished the keys: fn's outcome is dropped
				return
			}
			// Read after stop: fn may have returned at its deadline,
			// before the timeout's function ran (see run).
			timedOut := lctx.Err() == context.DeadlineExceeded
			switch {
			case timedOut:
				// fn returned past its deadline: as if the timeout had
				// come first (see run).
				fail(ErrLoadTimeout)
				g.dropAll(keys, res, err, end)
			case err != nil:
				if end == panicked { // not a *PanicError fn returned
					b.panicked.Store(err.(*PanicError))
				}
				fail(err)
			case len(res) != len(keys):
				fail(fmt.Errorf("%w: %d results for %d keys", ErrBatchSize, len(res), len(keys)))
			default:
				g.finishAll(keys, calls, func(i int) (V, error) { return res[i].Val, res[i].Err })
			}
		}()
		res, end, err = protect(lctx, func(ctx context.Context) ([]Result[V], error) { return fn(ctx, arg) })
	}()
	return true
}

// dropAll is drop for a batch that returned past its LoadTimeout: each
// key's value that came without an error, if fn gave one result per key.
// A panic of an after function is raised once every key has been told.
func (g *Group[K, V]) dropAll(keys []K, res []Result[V], err error, end ending) {
	if len(res) != len(keys) {
		return
	}
	var first any
	for i, r := range res {
		if r.Err != nil {
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil && first == nil {
					first = p
				}
			}()
			g.drop(keys[i], r.Val, err, end)
		}()
	}
	if first != nil {
		panic(first)
	}
}
