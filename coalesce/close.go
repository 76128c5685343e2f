package coalesce

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ufocache/ufocache/internal/clock"
)

// life is what Close needs of a Group: whether it is closed, how many
// functions run, and the context that ends theirs.
type life struct {
	// state is closedBit once Close has begun, plus the number of
	// functions started and not yet through their finish (their goroutine,
	// or their caller's for a function run there, is about to end). Once
	// closedBit is set no function starts, so the count only falls, and
	// the exit that takes state to exactly closedBit is the last.
	state atomic.Int64
	once  sync.Once
	idle  chan struct{} // made by the first Close, closed by the last exit after it
	// stops end the functions' contexts (through fnContext, each its
	// own: see stopOf); Close ends them all, with the cause ErrClosed,
	// once its own ctx ends first.
	stops   [stopShards]context.Context
	cancels [stopShards]context.CancelCauseFunc
	// own holds the stops of the functions running inside a
	// testing/synctest bubble, each a stop of its own (see stopFor), until
	// they return; ended is set once Close ended the stops, so that a
	// function starting after that gets an ended stop.
	ownMu sync.Mutex
	own   map[*fnContext]context.CancelCauseFunc
	ended bool
}

// stopShards spreads the functions' contexts over several stops: a
// context.WithTimeout of a function's context joins its stop's set of
// children, under that stop's lock, and with one stop for a Group two
// cores doing unshared loads that each make one ran at 0.75x
// (BenchmarkDo/inner-timeout).
const stopShards = 8

// stopFor sets fc.stop, the stop of the function whose context fc is
// (fc.node set): one of the Group's shared stops, or, for a function
// started inside a testing/synctest bubble, a stop of its own, made
// there, which exit drops when the function returns. A shared stop's Done
// channel is made where it is first asked for, and belongs to that
// bubble: a Group made outside any bubble and used by one bubble after
// another (the README allows it for a Cache, and an RTCache over one)
// would hand the second bubble the first one's channel, and the runtime
// ends the process at the first receive from it (a LoadTimeout's
// WithTimeout looks at it at once;
// TestRTCacheMadeOutsideABubbleServesBubbleAfterBubble). A stop of the
// bubble's own also lets the bubble's clock run while a function waits
// on its ctx, where a channel from outside the bubble would hold it.
func (l *life) stopFor(fc *fnContext) {
	if !clock.Faked() {
		// The node lives in its call or batch, a heap object of its own:
		// its address spreads the calls over the stops.
		fc.stop, fc.ownStop = l.stops[uintptr(unsafe.Pointer(fc.node))/64%stopShards], false
		return
	}
	stop, cancel := context.WithCancelCause(context.Background())
	l.ownMu.Lock()
	defer l.ownMu.Unlock()
	if l.ended {
		cancel(ErrClosed)
	} else {
		if l.own == nil {
			l.own = make(map[*fnContext]context.CancelCauseFunc)
		}
		l.own[fc] = cancel
	}
	fc.stop, fc.ownStop = stop, true
}

const closedBit = int64(1) << 62

func newLife() *life {
	l := &life{}
	for i := range l.stops {
		l.stops[i], l.cancels[i] = context.WithCancelCause(context.Background())
	}
	return l
}

// enter counts a function about to start, and reports whether it may
// (false once Close has begun).
func (l *life) enter() bool {
	for {
		s := l.state.Load()
		if s&closedBit != 0 {
			return false
		}
		if l.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// exit counts a function ended (its call finished, its goroutine about
// to end); fc is its context, whose own stop, if it has one, Close no
// longer needs to end (fc may be unset: a call refused or rechecked).
func (l *life) exit(fc *fnContext) {
	if fc.ownStop {
		l.ownMu.Lock()
		delete(l.own, fc)
		l.ownMu.Unlock()
	}
	if l.state.Add(-1) == closedBit {
		close(l.idle) // made before closedBit was set: see Close
	}
}

// Close turns new calls away and waits for the functions already started
// to end.
//
// From its start, a call that would start its function (in Do, DoBatch,
// Go or GoBatch) does not: it finishes at once with ErrClosed, which is
// not committed, and Go and GoBatch report nothing started (Do's leader
// is false). Recheck still runs first, and a caller that joins a call in
// flight still gets that call's outcome; a call older than LockAge holds
// its key again (see Options.LockAge), so its callers join it rather than
// get ErrClosed, and its outcome is committed.
//
// Close returns nil once every function started has returned and its
// call finished (Commit and its after function done, the waiters woken;
// for a function past its LoadTimeout, once it has returned too). If ctx
// ends first, Close ends the contexts of the functions still running
// (their Err is context.Canceled, and context.Cause gives ErrClosed) and
// returns ctx.Err() at once; what they return then is their callers'
// outcome, and committed, as any. Close may be called again, and by
// several goroutines: each call waits as the first did, and the first to
// see its ctx end ends the functions' contexts. (A caller that claimed
// its key just before Close began may still hold it for a moment, in Len
// and InFlight, until it is turned away.) A Close called inside a
// function, or in Commit's after function, waits for that function's own
// call: with a ctx that never ends, for ever.
//
// A function's context ends only there (and, with a LoadTimeout, at its
// deadline or once the function has returned). What a function ties to
// it, a context.AfterFunc whose stop it never calls or a WithCancel it
// never cancels, is held until then: without a LoadTimeout, by the Group
// until Close, as a server's base context would hold it.
func (g *Group[K, V]) Close(ctx context.Context) error {
	l := g.life
	l.once.Do(func() {
		l.idle = make(chan struct{})
		if l.state.Or(closedBit) == 0 {
			close(l.idle) // nothing runs: no exit will
		}
	})
	// Closed and idle: nothing to wait for, and idle is not looked at,
	// since it belongs to the synctest bubble of the first Close, if that
	// ran in one, which a later bubble must not receive from.
	if l.state.Load() == closedBit {
		return nil
	}
	select {
	case <-l.idle:
		return nil
	default:
	}
	select {
	case <-l.idle:
		return nil
	case <-ctx.Done():
		for _, cancel := range l.cancels {
			cancel(ErrClosed)
		}
		l.ownMu.Lock()
		l.ended = true
		for _, cancel := range l.own {
			cancel(ErrClosed)
		}
		l.ownMu.Unlock()
		return ctx.Err()
	}
}

// Closed reports whether Close has been called.
func (g *Group[K, V]) Closed() bool { return g.life.state.Load()&closedBit != 0 }
