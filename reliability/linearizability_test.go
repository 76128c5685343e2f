package reliability

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
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
	linSet      linKind = iota // Cache.Set, SetWithTTL, ForceSet
	linGet                     // Cache.Get, GetWithStatus, GetStale, MultiGet of one key
	linDelete                  // Cache.Delete, and Cache.Clear (one per key)
	linRTGet                   // RTCache.Get, GetStale, GetStaleWhileUpdate, MultiGet (one per key)
	linRTSet                   // RTCache.Set
	linRTDelete                // RTCache.Delete, and RTCache.Clear (one per key)
	// linRTLoad is no call but a load's store, recorded where loads run in
	// the background (RefreshAhead, GetStaleWhileUpdate): from its
	// Loader's call to the end of the history, it may store its value, or
	// cache its error, at any point, or never.
	linRTLoad
	linInvalidate    // RTCache.Invalidate
	linDeleteExpired // Cache.DeleteExpired (one per key)
	// linRTLookup is no call but the lookup of an RTCache call that led a
	// load (Status Miss or Expired), made before the load started: from
	// the call to its Loader's call (see linLeaderLookups).
	linRTLookup
	linSetIfAbsent // Cache.SetIfAbsent (and Compute written as one, the Cache's or the RTCache's)
	// linComputeReplace is a Compute (the Cache's or the RTCache's) that
	// stores its value over a value it found live and leaves a key it
	// found none for: its output is the value it found (ok: it found one)
	// and whether it stored.
	linComputeReplace
)

type linInput struct {
	kind linKind
	key  int
	val  uint64 // the value a Set writes
	// ttl is, for a Set, how long its value lives (0: forever; negative:
	// not stored); for a load, how long its outcome is kept (its value's
	// TTL as for a Set, or ErrorTTL for an error, 0 then meaning not
	// cached); for a stale read, its staleTTL; for DeleteExpired,
	// KeepExpired.
	ttl time.Duration
	how string // which method, for the report
	at  int64  // the call's stamp (the recorder sets it)
	// from and to are the caches' Clock read just before the call and
	// just after it (for a load, at its Loader's call and at the end of
	// the history): every reading the call makes lies between them.
	from, to int64
	// staleIfError marks RTCache.GetStale, whose Stale answers only a
	// failed load (or a cached error): not GetStaleWhileUpdate's.
	staleIfError bool
	// rtWrite marks RTCache.Compute (a linSetIfAbsent or a
	// linComputeReplace): an RTCache write, which clears a cached error
	// whatever its function returned and, with detach, fences the loads
	// called before it, as RT.Set does, unless its function returned
	// ComputeKeep (linOutput.kept).
	rtWrite bool
}

type linOutput struct {
	val   uint64 // the value returned; 0 for none
	ok    bool   // Set: stored; Get, Delete, Invalidate: found (a Cache.GetStale, stale or not)
	st    ufocache.Status
	stale time.Duration // GetStale's staleFor, StaleStatus.StaleFor
	// left is GetWithTTL's time left, for a Hit (withTTL: it was asked).
	left    time.Duration
	withTTL bool
	err     error
	// errID is, for an error a Loader returned, its value (linLoadError).
	errID uint64
	// For a loaded value or a Loader's error: the stamp taken when its
	// Loader was called (on the recorder's clock) and the Clock then,
	// the key it was loaded for, and how long it is kept; zero where
	// unknown.
	loadAt, loadClock int64
	loadKey           int
	loadTTL           time.Duration
	// failedLoad is, for a Stale answer of RTCache.GetStale, whether a
	// load of its key failed while it could wait for it.
	failedLoad bool
	// stored is, for linComputeReplace, whether Compute stored its value.
	stored bool
	// kept: a Compute's function returned ComputeKeep (an RTCache
	// Compute that changed nothing leaves the loads in flight attached).
	kept bool
}

// linLoadError is the error of a failed load: each is distinct, and
// carries a value (with linLoadedBit) that stands for it in the history.
type linLoadError struct{ id uint64 }

func (e *linLoadError) Error() string { return fmt.Sprintf("%v %#x", errLinLoad, e.id) }
func (e *linLoadError) Unwrap() error { return errLinLoad }

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
// The state is the key's value (0: absent) with its expiry, and the load
// error cached for it (ErrorTTL) with its own.
//
//   - A Set of a value that fits in a shard, with a TTL >= 0, stores it
//     and returns true; of one that can never fit, or with a negative
//     TTL, returns false and removes the key.
//   - A Get or a Delete that finds a value finds the state, and a Delete
//     leaves the key absent. A Get may miss whatever the state: the cache
//     may have evicted the key. With strict, a miss is that eviction and
//     leaves the key absent, so an evicted value can never come back (a
//     Get's miss may also be an expiry that kept the value for stale
//     reads; GetWithStatus, MultiGet and GetStale, which tell the two
//     apart, miss only where the key has no entry); without it, evictions are invisible and a miss changes nothing (the
//     promise as the issue states it).
//   - RTCache.Get: a Hit reads the state. A caller that loaded (Miss) wrote
//     the loaded value, as the load's commit happens within its call; with
//     detach (the history also has RTCache.Set and Delete, which detach a
//     load in flight so that its value is not stored) it may also have
//     written nothing. A LockHit is a read of the state when its value came
//     from the cache or from a load that stored it; the value of a load
//     that was not stored (detached, or too heavy) reaches its waiters
//     all the same, so then only its origin is checked. A failed load
//     writes nothing but its cached error.
//   - The lookup of a caller that loaded (Miss or Expired) is judged at a
//     point of its own (linRTLookup), between the call and its Loader's
//     call, since it came before the load and the store may come long
//     after it: with Expired, it found the value present and expired;
//     with Miss, it found no value, which with strict is an eviction and
//     leaves the key absent (without strict it changes nothing, as a Get's
//     miss).
//   - With detach, writes win over loads in flight: the state also holds
//     the fence, the latest call stamp of an RTCache.Set, Delete or Clear
//     linearized so far, and a load whose Loader was called before the
//     fence is never stored, nor joined once such a write has detached it
//     (a load in flight when a write is called was claimed before it, so
//     that write's Forget detaches it unless it already committed, which
//     linearizes it before the write).
//
// Time: a call reads the Clock at some instants within [from, to], not
// at its linearization point, so an expiry is known as a window, [lo, hi]:
// a value set with ttl expires at its Set's reading plus ttl, somewhere in
// [from+ttl, to+ttl]. Each observation narrows it (a hit at a reading in
// [from, to]: the expiry is above from; an expired read: at or below to;
// a stale read staleFor past it: its reading less staleFor), and one it
// leaves empty is impossible. So:
//   - a Get, GetWithStatus, Delete or RTCache hit finds a value only
//     before its expiry; GetWithStatus's Expired and a stale read
//     (Cache.GetStale; RTCache.GetStale and GetStaleWhileUpdate, no more
//     than their staleTTL past it) only after it, on a value still
//     present; so does a leader's Expired, at its lookup's point (at its
//     store's point it would fail legal histories: what the lookup found
//     expired may have been set again and evicted unseen before the load);
//   - Invalidate of a live value sets its expiry to the call's reading;
//     DeleteExpired removes the value if it expired KeepExpired before
//     the reading, and otherwise keeps it;
//   - a cached error answers (Hit) only before its own expiry (the failed
//     load's reading plus ErrorTTL), and no caller loads before then;
//     a successful load and RTCache's writes clear it.
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
			if in.kind == linRTSet || in.kind == linRTDelete || in.kind == linInvalidate || in.rtWrite {
				st.err = linHeld{} // RTCache's writes clear a cached error
				if detach && !output.(linOutput).kept {
					fence = max(fence, in.at)
				}
			}
			var next []any
			for _, n := range linNext(st, in, output.(linOutput), capacity, strict, detach) {
				n.fence = fence
				next = append(next, n)
			}
			return next
		},
		Equal: func(a, b any) bool { return a.(linState) == b.(linState) },
		Hash: func(s any) uint64 {
			st := s.(linState)
			h := st.v.id ^ uint64(st.fence)*0x9e3779b97f4a7c15
			h ^= (uint64(st.v.exp.lo) ^ uint64(st.v.exp.hi)<<17) * 0xbf58476d1ce4e5b9
			return h ^ (st.err.id^uint64(st.err.exp.lo)<<9^uint64(st.err.exp.hi)<<31)*0x94d049bb133111eb
		},
		DescribeOperation: func(input, output any) string {
			in, ok := input.(linInput)
			if !ok {
				return fmt.Sprintf("(no call) -> %v", output) // porcupine's visualization, on a history whose order it could not follow
			}
			out, _ := output.(linOutput)
			var s string
			switch {
			case in.kind == linRTLookup:
				s = fmt.Sprintf("%s's lookup(%d) -> %v", in.how, in.key, out.st)
			case in.kind == linRTLoad && out.errID != 0:
				s = fmt.Sprintf("failed load(%d) -> err %#x", in.key, out.errID)
			case in.kind == linRTLoad:
				s = fmt.Sprintf("%s(%d, %#x)", in.how, in.key, in.val)
			case out.err != nil:
				s = fmt.Sprintf("%s(%d) -> err %v %v", in.how, in.key, out.err, out.st)
			case in.kind == linSet || in.kind == linRTSet:
				s = fmt.Sprintf("%s(%d, %#x) -> %v", in.how, in.key, in.val, out.ok)
			case in.kind == linSetIfAbsent:
				s = fmt.Sprintf("%s(%d, %#x) -> %#x %v", in.how, in.key, in.val, out.val, out.ok)
			case in.kind == linComputeReplace:
				s = fmt.Sprintf("%s(%d, %#x over a live value) found %#x %v, stored %v", in.how, in.key, in.val, out.val, out.ok, out.stored)
			case in.kind == linRTGet:
				s = fmt.Sprintf("%s(%d) -> %#x %v (loaded at %d)", in.how, in.key, out.val, out.st, out.loadAt)
			case out.st == ufocache.Expired:
				s = fmt.Sprintf("%s(%d) -> expired", in.how, in.key)
			default:
				s = fmt.Sprintf("%s(%d) -> %#x %v", in.how, in.key, out.val, out.ok)
			}
			if in.ttl != 0 {
				s += fmt.Sprintf(" ttl %v", in.ttl)
			}
			if out.stale != 0 {
				s += fmt.Sprintf(" stale for %v", out.stale)
			}
			if out.loadTTL != 0 {
				s += fmt.Sprintf(" kept %v from %d", out.loadTTL, out.loadClock)
			}
			if out.withTTL {
				s += fmt.Sprintf(" %v left", out.left)
			}
			return s + fmt.Sprintf(" clock [%d, %d]", in.from, in.to)
		},
		DescribeState: func(s any) string {
			st := s.(linState)
			return fmt.Sprintf("%#x expiring %v, error %#x expiring %v (fence %d)", st.v.id, st.v.exp, st.err.id, st.err.exp, st.fence)
		},
	}
	return nm.ToModel()
}

// linState is one key's state in linModel: its value (id 0: absent), its
// cached load error (id 0: none), and the fence of the writes that detach
// loads.
type linState struct {
	v, err linHeld
	fence  int64
}

// linHeld is a value, or an error, with the window its expiry lies in.
type linHeld struct {
	id  uint64
	exp linWindow
}

// linWindow holds the instants, on the Clock, that an expiry may be:
// [lo, hi]; linNever where it never expires.
type linWindow struct{ lo, hi int64 }

var linNever = linWindow{math.MaxInt64, math.MaxInt64}

// linExpiry is the window of the expiry of something kept for ttl (0:
// forever) from a reading of the Clock in [from, to].
func linExpiry(from, to int64, ttl time.Duration) linWindow {
	if ttl == 0 {
		return linNever
	}
	return linWindow{from + int64(ttl), to + int64(ttl)}
}

// live narrows w to an expiry after some reading in [from, ...]: it has
// not passed at that reading. ok is false if it had passed at every one.
func (w linWindow) live(from int64) (linWindow, bool) {
	w.lo = max(w.lo, from+1)
	return w, w.lo <= w.hi
}

// expired narrows w to an expiry at or before some reading in [..., to].
func (w linWindow) expired(to int64) (linWindow, bool) {
	w.hi = min(w.hi, to)
	return w, w.lo <= w.hi
}

// staleFor narrows w to the expiry of an entry read as expired for d at a
// reading in [from, to]: d past it, or at it, for 1ns (the least reported).
func (w linWindow) staleFor(d time.Duration, from, to int64) (linWindow, bool) {
	lo, hi := from-int64(d), to-int64(d)
	if d == 1 {
		hi = to
	}
	w.lo, w.hi = max(w.lo, lo), min(w.hi, hi)
	return w, w.lo <= w.hi
}

// read returns st after a read of val, live, within [from, ...]; none if
// the state cannot give it.
func (st linState) read(val uint64, from int64) []linState {
	exp, ok := st.v.exp.live(from)
	if val != st.v.id || val == 0 || !ok {
		return nil
	}
	st.v.exp = exp
	return []linState{st}
}

// readLeft is read for a GetWithTTL, which also said how long val had
// left at a reading in [in.from, in.to]: its expiry is that reading
// plus left (NoExpiration: it has none).
func (st linState) readLeft(val uint64, in linInput, out linOutput) []linState {
	next := st.read(val, in.from)
	if next == nil || !out.withTTL {
		return next
	}
	left := linWindow.left
	if out.st == ufocache.LockHit {
		// A value an RT lookup's recheck found live: its time left is
		// read as the call returns.
		left = linWindow.leftAtReturn
	}
	w, ok := left(next[0].v.exp, out.left, in.from, in.to)
	if !ok {
		return nil
	}
	next[0].v.exp = w
	return next
}

// loadedExpiry is the expiry window of the value out's load gave, narrowed
// by the time left an RT.GetWithTTL reported of it: ok is false if no
// expiry fits both. The time left is read as the call returns, from the
// expiry computed when the Loader returned; 0 says it had passed.
func (out linOutput) loadedExpiry(in linInput) (linWindow, bool) {
	w := linExpiry(out.loadClock, in.to, out.loadTTL)
	if !out.withTTL {
		return w, true
	}
	return w.leftAtReturn(out.left, in.from, in.to)
}

// leftAtReturn is left for a time left read as the call returned, from an
// expiry found earlier in it: 0 says it had passed by then.
func (w linWindow) leftAtReturn(d time.Duration, from, to int64) (linWindow, bool) {
	if d == 0 {
		return w.expired(to)
	}
	return w.left(d, from, to)
}

// within narrows w to the expiries it shares with v.
func (w linWindow) within(v linWindow) (linWindow, bool) {
	w.lo, w.hi = max(w.lo, v.lo), min(w.hi, v.hi)
	return w, w.lo <= w.hi
}

// left narrows w to the expiry of an entry read with d left at a reading
// in [from, to]: that reading plus d (NoExpiration: w must be linNever).
func (w linWindow) left(d time.Duration, from, to int64) (linWindow, bool) {
	if d == ufocache.NoExpiration {
		return w, w == linNever
	}
	w.lo, w.hi = max(w.lo, from+int64(d)), min(w.hi, to+int64(d))
	return w, w.lo <= w.hi && d > 0
}

// staleRead returns st after a read of val, expired d ago.
func (st linState) staleRead(val uint64, d time.Duration, in linInput) []linState {
	exp, ok := st.v.exp.staleFor(d, in.from, in.to)
	if val != st.v.id || val == 0 || !ok {
		return nil
	}
	st.v.exp = exp
	return []linState{st}
}

// expiredRead returns st after a read that found its value present but
// expired, at a reading within [..., to]; none if there is no value, or
// it cannot have expired by then.
func (st linState) expiredRead(to int64) []linState {
	exp, ok := st.v.exp.expired(to)
	if st.v.id == 0 || !ok {
		return nil
	}
	st.v.exp = exp
	return []linState{st}
}

// miss returns the states after a lookup that found no live value: with
// strict, an eviction, or an expiry that kept the value for stale reads.
func (st linState) miss(in linInput, strict bool) []linState {
	if !strict {
		return []linState{st}
	}
	next := []linState{{err: st.err}}
	if exp, ok := st.v.exp.expired(in.to); st.v.id != 0 && ok {
		st.v.exp = exp
		next = append(next, st)
	}
	return next
}

// mayLoad returns st narrowed to where a lookup within in, finding no
// value, may call the Loader: no error is cached that has not expired.
func (st linState) mayLoad(in linInput) (linState, bool) {
	if st.err.id == 0 {
		return st, true
	}
	exp, ok := st.err.exp.expired(in.to)
	st.err.exp = exp
	return st, ok
}

// linNext returns the states the key may be in after in returned out,
// from st; none if out is impossible there.
func linNext(st linState, in linInput, out linOutput, capacity int64, strict, detach bool) []linState {
	s := st.v.id
	switch in.kind {
	case linSet, linRTSet:
		fits := linWeight(in.val) <= capacity && in.ttl >= 0
		switch {
		case out.ok != fits:
			return nil
		case fits:
			st.v = linHeld{in.val, linExpiry(in.from, in.to, in.ttl)}
		default:
			st.v = linHeld{}
		}
		return []linState{st}
	case linSetIfAbsent:
		fits := linWeight(in.val) <= capacity && in.ttl >= 0
		switch {
		case out.ok && (!fits || out.val != in.val):
			return nil
		case out.ok:
			// It found no live value: the old one had expired, or was
			// evicted, which may happen at any moment.
			st.v = linHeld{in.val, linExpiry(in.from, in.to, in.ttl)}
			return []linState{st}
		case out.val != 0:
			return st.read(out.val, in.from) // it found the value live, and left it
		case fits:
			return nil // nothing live, and a value that fits: it would have stored it
		}
		st.v = linHeld{} // declined, as a Set: the older value removed
		return []linState{st}
	case linComputeReplace:
		if !out.ok {
			if out.stored {
				return nil
			}
			return st.miss(in, strict) // nothing live, left so
		}
		next := st.read(out.val, in.from) // the value it replaced, live
		fits := linWeight(in.val) <= capacity && in.ttl >= 0
		if next == nil || out.stored != fits {
			return nil
		}
		st = next[0]
		st.v = linHeld{} // declined, as a Set: the older value removed
		if fits {
			st.v = linHeld{in.val, linExpiry(in.from, in.to, in.ttl)}
		}
		return []linState{st}
	case linGet:
		switch {
		case out.ok && out.stale > 0:
			return st.staleRead(out.val, out.stale, in)
		case out.ok:
			return st.readLeft(out.val, in, out)
		case out.st == ufocache.Expired:
			return st.expiredRead(in.to)
		case strict && in.how != "Get" && in.how != "GetWithTTL":
			// GetWithStatus, MultiGet and GetStale miss only where the key
			// has no entry (an expired one is Expired, or a stale read):
			// an eviction, never an expiry that kept the value.
			return []linState{{err: st.err}}
		}
		return st.miss(in, strict)
	case linDelete, linRTDelete:
		if out.ok && st.read(out.val, in.from) == nil {
			return nil
		}
		st.v = linHeld{}
		return []linState{st}
	case linInvalidate:
		if !out.ok {
			return st.miss(in, strict)
		}
		if st.read(s, in.from) == nil {
			return nil
		}
		// It expires at the reading that found it live.
		st.v.exp = linWindow{in.from, min(in.to, st.v.exp.hi-1)}
		return []linState{st}
	case linDeleteExpired:
		if s == 0 {
			return []linState{st}
		}
		var next []linState
		if _, ok := st.v.exp.expired(in.to - int64(in.ttl)); ok {
			next = append(next, linState{err: st.err})
		}
		if exp, ok := st.v.exp.live(in.from - int64(in.ttl)); ok {
			st.v.exp = exp
			next = append(next, st)
		}
		return next
	case linRTLookup:
		switch {
		case out.st == ufocache.Expired:
			return st.expiredRead(in.to)
		case strict:
			// It found no entry at all, expired or not: an eviction (the
			// Cache's lookup says Miss only then), unlike a Get's miss,
			// which may also be an expiry.
			st.v = linHeld{}
		}
		return []linState{st}
	case linRTLoad:
		stored := st
		switch {
		case detach && in.at < st.fence:
			return []linState{st} // detached: never stored
		case out.errID != 0 && in.ttl <= 0:
			return []linState{st} // a failure kept nowhere
		case out.errID != 0:
			stored.err = linHeld{in.val, linExpiry(in.from, in.to, in.ttl)}
		case linWeight(in.val) > capacity:
			stored.v, stored.err = linHeld{}, linHeld{} // declined, and the older value removed
		default:
			stored.v, stored.err = linHeld{in.val, linExpiry(in.from, in.to, in.ttl)}, linHeld{}
		}
		return []linState{stored, st}
	case linRTGet:
		if out.loadAt > 0 && out.loadKey != in.key {
			return nil // another key's load
		}
		if out.err != nil && out.errID == 0 {
			return []linState{st} // not a Loader's own error: the batch's, a timeout
		}
		// A load whose Loader was called before the fence was in flight
		// when a write linearized before this point detached it.
		fenced := detach && out.loadAt > 0 && out.loadAt < st.fence
		switch out.st {
		case ufocache.Hit:
			if out.err != nil { // a cached error
				exp, ok := st.err.exp.live(in.from)
				if out.errID != st.err.id || !ok {
					return nil
				}
				if out.withTTL { // RT.GetWithTTL: the time it had left, read with it
					if exp, ok = exp.left(out.left, in.from, in.to); !ok {
						return nil
					}
				}
				st.err.exp = exp
				return []linState{st}
			}
			return st.readLeft(out.val, in, out)
		case ufocache.Stale:
			if out.stale > in.ttl {
				return nil
			}
			if in.staleIfError && !out.failedLoad {
				// No load of the key failed while it waited: only a
				// cached error could count as one.
				exp, ok := st.err.exp.live(in.from)
				if st.err.id == 0 || !ok {
					return nil
				}
				st.err.exp = exp
			}
			return st.staleRead(out.val, out.stale, in)
		case ufocache.Miss, ufocache.Expired:
			if out.err == nil && !linLoaded(out.val) {
				return nil
			}
			var ok bool
			if st, ok = st.mayLoad(in); !ok {
				return nil // an error was cached, and had not expired
			}
			next := st
			w, ok := out.loadedExpiry(in)
			switch {
			case out.err != nil && out.loadTTL > 0:
				next.err = linHeld{out.errID, linExpiry(out.loadClock, in.to, out.loadTTL)}
			case out.err != nil:
			case !ok:
				return nil // not the time left its load gave it
			case linWeight(out.val) > capacity:
				next.v, next.err = linHeld{}, linHeld{} // declined, and the older value removed
			default:
				next.v = linHeld{out.val, w}
				next.err = linHeld{}
			}
			switch {
			case fenced:
				return []linState{st} // detached: not stored
			case detach:
				return []linState{next, st}
			}
			return []linState{next}
		case ufocache.LockHit:
			if out.err != nil {
				return []linState{st} // the load's error, or a cached one: only its origin is checked
			}
			if fenced && out.val != s {
				return nil // joined after the write that detached it
			}
			if !linLoaded(out.val) {
				return st.readLeft(out.val, in, out) // a Set's value, found live
			}
			w, ok := out.loadedExpiry(in)
			if !ok {
				return nil // not the time left its load gave it
			}
			if detach || linWeight(out.val) > capacity {
				return []linState{st}
			}
			if out.val != s || s == 0 {
				return nil
			}
			// The stored value's expiry is the one its load computed.
			if st.v.exp, ok = st.v.exp.within(w); !ok {
				return nil
			}
			return []linState{st}
		}
		return nil
	}
	return nil
}

// linRecorder stamps calls and returns with a shared counter: an
// operation that returned before another was called has a smaller return
// stamp than the other's call stamp, which is all porcupine needs.
type linRecorder struct {
	clock atomic.Int64
	now   *linClock // the caches' Clock
	mu    sync.Mutex
	ops   []porcupine.Operation
	loads sync.Map // loaded value, or linLoadError's id -> linLoad
	// background says loads may run with no caller (RefreshAhead,
	// GetStaleWhileUpdate): those no caller led are recorded as linRTLoad
	// operations, from their Loader's call to the end of the history.
	background bool
	// led holds, under mu, the loads a caller returned as its own (Miss,
	// Expired), with that caller's return stamp.
	led map[uint64]int64
}

// linLoad is when (the stamp taken as its Loader was called, and the Clock
// then) and for which key a value was loaded or a load failed, and how
// long its outcome is kept (see linInput.ttl).
type linLoad struct {
	at, clock int64
	key       int
	ttl       time.Duration
	failed    bool
}

// loaded stamps a call of the Loader (or BatchLoader) that returns id for
// k, a value or, if failed, a linLoadError's, and returns the stamp.
func (r *linRecorder) loaded(k int, id uint64, ttl time.Duration, failed bool) int64 {
	l := linLoad{clock: r.now.Nanotime(), key: k, ttl: ttl, failed: failed}
	l.at = r.clock.Add(1)
	r.loads.Store(id, l)
	return l.at
}

// judgeStale sets failedLoad on RTCache.GetStale's Stale answers: whether
// a load of the key failed that the call could have waited for, one whose
// Loader was called before the call returned and that settled after it
// was called. A load settles before its leader returns (a load no caller
// led may settle until the history ends); that is all the recorder sees
// of it, so a load whose leader returned after the call counts, even if it
// had settled before.
func (r *linRecorder) judgeStale() {
	for i, op := range r.ops {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if !in.staleIfError || out.st != ufocache.Stale {
			continue
		}
		r.loads.Range(func(id, l any) bool {
			l2 := l.(linLoad)
			until, led := r.led[id.(uint64)]
			out.failedLoad = l2.failed && l2.key == in.key && l2.at < op.Return && (!led || until > op.Call)
			return !out.failedLoad
		})
		r.ops[i].Output = out
	}
}

// finish ends the history: with background loads, each load no caller led
// may store its outcome at any point up to now.
func (r *linRecorder) finish() []porcupine.Operation {
	end := r.clock.Add(1)
	to := r.now.Nanotime()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.judgeStale()
	r.loads.Range(func(id, l any) bool {
		l2 := l.(linLoad)
		if _, led := r.led[id.(uint64)]; !r.background || led || (l2.failed && l2.ttl == 0) || l2.at > end {
			// A load whose Loader was called after end (a refresh that
			// an RTCache write detached, so that InFlight no longer
			// counted it, whose goroutine ran late) stores after every
			// recorded call returned: nothing in the history can see it.
			return true
		}
		in := linInput{kind: linRTLoad, key: l2.key, val: id.(uint64), ttl: l2.ttl, how: "load", at: l2.at, from: l2.clock, to: to}
		var out linOutput
		if l2.failed {
			out.errID = in.val
		}
		r.ops = append(r.ops, porcupine.Operation{ClientId: -1, Input: in, Call: l2.at, Output: out, Return: end})
		return true
	})
	r.ops = append(r.ops, linLeaderLookups(r.ops)...)
	return r.ops
}

// linLeaderLookups returns, for each RTCache call in history that led a
// load (Status Miss or Expired), its lookup as an operation of its own,
// which the model judges apart from the load's store: the lookup came
// before the Loader's call and the store after it, and no single point
// need explain both (a Set and an eviction may come between them). It
// spans the call up to the stamp taken as its Loader was called, and its
// reading of the Clock was no later than the Loader's. A lookup whose load
// the call does not show (it left before its Loader was called, its load
// timed out, or its batch failed as a whole) spans the whole call.
func linLeaderLookups(history []porcupine.Operation) []porcupine.Operation {
	var lookups []porcupine.Operation
	for _, op := range history {
		in, out := op.Input.(linInput), op.Output.(linOutput)
		if in.kind != linRTGet || out.st != ufocache.Miss && out.st != ufocache.Expired {
			continue
		}
		look := linInput{kind: linRTLookup, key: in.key, how: in.how, at: in.at, from: in.from, to: in.to}
		ret := op.Return
		if op.Call < out.loadAt && out.loadAt <= op.Return {
			ret = out.loadAt
			if in.from <= out.loadClock && out.loadClock <= in.to {
				look.to = out.loadClock
			}
		}
		lookups = append(lookups, porcupine.Operation{ClientId: op.ClientId, Input: look, Call: op.Call, Output: linOutput{st: out.st}, Return: ret})
	}
	return lookups
}

func (r *linRecorder) record(client int, in linInput, f func() linOutput) {
	r.recordEach(client, []linInput{in}, func() []linOutput { return []linOutput{f()} })
}

// recordEach records one call that acts on several keys (a MultiGet) as
// one operation per key, each spanning the whole call.
func (r *linRecorder) recordEach(client int, ins []linInput, f func() []linOutput) {
	from := r.now.Nanotime()
	call := r.clock.Add(1)
	outs := f()
	ret := r.clock.Add(1)
	to := r.now.Nanotime()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, in := range ins {
		in.at, in.from, in.to = call, from, to
		out := outs[i]
		id := out.val
		if e := (*linLoadError)(nil); errors.As(out.err, &e) {
			id, out.errID = e.id, e.id
		}
		if l, ok := r.loads.Load(id); ok && linLoaded(id) {
			l := l.(linLoad)
			out.loadAt, out.loadKey, out.loadClock, out.loadTTL = l.at, l.key, l.clock, l.ttl
			if in.kind == linRTGet && (out.st == ufocache.Miss || out.st == ufocache.Expired) {
				r.led[id] = ret
			}
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
	// ttls moves the caches' Clock (a client steps it as one of its
	// operations) and gives values short TTLs (linTTL, and DefaultTTL and
	// KeepExpired), an RTCache an ErrorTTL, and the clients the calls of
	// expiry: Invalidate, DeleteExpired, stale reads.
	ttls bool
	// leave gives the RTCache's callers contexts that can end: one in
	// four has ended before the call or ends within a few microseconds,
	// mostly while it waits for a load, which goes on without it and
	// may store a value that no call returns (linRTLoad).
	leave bool
	// lockAge is RTOptions.LockAge. It runs on the real clock: at 3µs
	// most loads are superseded by the next caller's, whose value is
	// then stored over theirs, or theirs while it runs.
	lockAge time.Duration
}

// With ttls, time moves in steps of half a linTick to three halves, and
// TTLs are of the same order, so that expiries fall within calls; the
// sweep reclaims an expired entry about a second (ten ticks) later.
const (
	linTick        = 100 * time.Millisecond
	linDefaultTTL  = 2 * linTick
	linErrorTTL    = 2 * linTick
	linStaleTTL    = 3 * linTick
	linKeepExpired = linStaleTTL // as the RTCache.GetStale doc asks
)

// ttl returns the TTL of a write or a load: with ttls, a random one from
// half a tick to four ticks, or 0 (DefaultTTL), NoExpiration or, if
// negative is set, a negative one; else def.
func (cfg linConfig) ttl(r *rand.Rand, def time.Duration, negative bool) time.Duration {
	if !cfg.ttls {
		return def
	}
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return ufocache.NoExpiration
	case 2:
		if negative {
			return -linTick
		}
	}
	return time.Duration(1+r.IntN(8)) * linTick / 2
}

// life is how long a value written with ttl lives, as linInput.ttl says it.
func (cfg linConfig) life(ttl time.Duration) time.Duration {
	switch {
	case ttl == 0 && cfg.ttls:
		return linDefaultTTL
	case ttl == 0, ttl == ufocache.NoExpiration:
		return 0
	}
	return ttl
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
	{name: "ttl-moving-clock", maxWeight: 8, shards: 1, keys: 3, filler: 8, ttls: true},
	{name: "rtcache-ttl-moving-clock", maxWeight: 8, shards: 1, keys: 3, filler: 8, rt: 2, ttls: true},
	{name: "rtcache-lockage", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, lockAge: 3 * time.Microsecond},
	{name: "rtcache-lockage-ttl", maxWeight: 8, shards: 1, keys: 3, filler: 8, rt: 2, ttls: true, lockAge: 3 * time.Microsecond},
	{name: "rtcache-lockage-batch", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, batch: true, lockAge: 3 * time.Microsecond},
	{name: "rtcache-callers-leave", maxWeight: 6, shards: 1, weighted: true, keys: 3, filler: 20, rt: 2, leave: true},
}

var errLinLoad = errors.New("injected load failure")

// linCheckTime bounds porcupine's search for one history; a history it
// cannot decide in that time fails as not linearizable (Unknown).
const linCheckTime = 30 * time.Second

// eachKey returns in once for each recorded key: a call on every key
// (Clear, DeleteExpired), each at its own point within the call.
func (cfg linConfig) eachKey(in linInput) []linInput {
	ins := make([]linInput, cfg.keys)
	for key := range ins {
		ins[key] = in
		ins[key].key = key
	}
	return ins
}

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
			// expiries counts the answers that found a value expired
			// (Expired, a stale read), errorHits the cached errors given.
			// left counts the callers that got their ctx's end, unled the
			// loads no caller returned as its own (see linRecorder.finish);
			// leaderExpiries the lookups of leaders that found the value
			// expired (each also counts in expiries, as its call).
			var ops, parts, timeouts, expiries, errorHits, left, unled, leaderExpiries int
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
						t.Fatalf("history %d (strict=%v) is not linearizable (%v); %d operations; visualization: %s; shortest failing prefix of one key: %s",
							h, strict, res, len(history), path, linShortest(model, history))
					}
				}
				ops += len(history)
				parts += len(model0Partition(history))
				for _, op := range history {
					out := op.Output.(linOutput)
					switch {
					case op.Input.(linInput).kind == linRTLookup:
						if out.st == ufocache.Expired {
							leaderExpiries++
						}
					case errors.Is(out.err, ufocache.ErrLoadTimeout):
						timeouts++
					case out.st == ufocache.Expired, out.st == ufocache.Stale, out.stale > 0:
						expiries++
					case out.st == ufocache.Hit && out.errID != 0:
						errorHits++
					case errors.Is(out.err, context.Canceled), errors.Is(out.err, context.DeadlineExceeded):
						left++
					case op.Input.(linInput).kind == linRTLoad:
						unled++
					}
				}
			}
			if cfg.loadTimeout > 0 && timeouts == 0 {
				t.Errorf("no load overran its LoadTimeout in %d histories: the config checks nothing of the path it is for", histories)
			}
			if cfg.ttls && (expiries == 0 || cfg.rt > 0 && (errorHits == 0 || leaderExpiries == 0)) {
				t.Errorf("%d answers of an expired value (%d by a leader's lookup) and %d of a cached error in %d histories: the config checks too little of expiry",
					expiries, leaderExpiries, errorHits, histories)
			}
			if cfg.leave && (left == 0 || unled == 0) {
				t.Errorf("%d callers left, %d loads no caller returned, in %d histories: the config checks nothing of the path it is for", left, unled, histories)
			}
			linTotals.histories.Add(int64(histories))
			linTotals.ops.Add(int64(ops))
			linTotals.partitions.Add(int64(parts))
			t.Logf("%d histories, %d operations (%d per-key histories, %d load timeouts, %d expired values found, %d of them by a leader's lookup, %d cached errors, %d callers left, %d loads no caller returned), each checked under both models",
				histories, ops, parts, timeouts, expiries, leaderExpiries, errorHits, left, unled)
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

// linShortest writes the operations of one key whose history fails, in
// the order of their calls, up to the shortest such prefix that fails too
// (bisected; each check bounded by linCheckTime), one per line, to a file
// that outlives the test, and returns its path: a dozen lines to read
// where the visualization shows a thousand operations.
func linShortest(model porcupine.Model, history []porcupine.Operation) string {
	fails := func(ops []porcupine.Operation) bool {
		return porcupine.CheckOperationsTimeout(model, ops, linCheckTime) != porcupine.Ok
	}
	for _, part := range model.Partition(history) {
		if !fails(part) {
			continue
		}
		slices.SortFunc(part, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		n := sort.Search(len(part), func(n int) bool { return fails(part[:n]) })
		f, err := os.CreateTemp("", "ufocache-linearizability-*.txt")
		if err != nil {
			return "(none: " + err.Error() + ")"
		}
		defer f.Close()
		for _, op := range part[:n] {
			fmt.Fprintf(f, "[%d, %d] client %d: %s\n", op.Call, op.Return, op.ClientId, model.DescribeOperation(op.Input, op.Output))
		}
		return f.Name()
	}
	return "(none: every key's history passes alone)"
}

// runLinHistory runs one history of cfg and returns its operations.
func runLinHistory(t *testing.T, cfg linConfig, seed uint64, opsPer int) []porcupine.Operation {
	rec := &linRecorder{now: &linClock{}, background: cfg.refreshAhead > 0 || cfg.leave || (cfg.ttls && cfg.rt > 0), led: map[uint64]int64{}}
	opts := ufocache.Options[int, uint64]{MaxWeight: cfg.maxWeight, Shards: cfg.shards, Clock: rec.now}
	if cfg.ttls {
		opts.DefaultTTL, opts.KeepExpired = linDefaultTTL, linKeepExpired
	}
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
	var rt *ufocache.RTCache[int, uint64]
	if cfg.rt > 0 {
		var errorTTL time.Duration
		if cfg.ttls {
			errorTTL = linErrorTTL
		}
		loadRand := rand.New(rand.NewPCG(seed, 99))
		var loadMu sync.Mutex
		load := func(ctx context.Context, k int) (uint64, time.Duration, error) {
			loadMu.Lock()
			fail := loadRand.IntN(8) == 0
			slow := loadRand.IntN(4)
			v := value(loadRand, true)
			ttl := cfg.ttl(loadRand, 0, false)
			// A failure is kept for ErrorTTL, for a time of its own
			// (ErrorWithTTL), or nowhere (a negative one).
			errTTL := []time.Duration{0, 3 * linTick, -1}[loadRand.IntN(3)]
			kept := errTTL
			switch {
			case kept < 0:
				kept = 0 // kept nowhere
			case kept == 0:
				kept = errorTTL // none without ErrorTTL: kept nowhere
			}
			if cfg.refreshAhead > 0 {
				// The clock is frozen: the value never expires, and
				// every hit is within RefreshAhead of its expiry.
				ttl = time.Hour
			}
			loadMu.Unlock()
			if fail {
				rec.loaded(k, v, kept, true)
			} else {
				rec.loaded(k, v, cfg.life(ttl), false)
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
				return 0, 0, ufocache.ErrorWithTTL(&linLoadError{v}, errTTL)
			}
			return v, ttl, nil
		}
		opts := ufocache.RTOptions[int, uint64]{LockAge: cfg.lockAge, LoadTimeout: cfg.loadTimeout, RefreshAhead: cfg.refreshAhead, ErrorTTL: errorTTL}
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
					rec.loaded(keys[i], res[i].Value, cfg.life(0), false)
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
	for wait := time.Now().Add(10 * time.Second); rec.background && rt.InFlight() != 0 && time.Now().Before(wait); {
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

// linRecordCompute records a call of compute (Cache.Compute or
// RTCache.Compute) of in.key in one of the two shapes the model knows:
// with replace, a store of in.val over a value found live that leaves a
// key found with none (linComputeReplace); without, SetIfAbsent written
// with Compute: a value found live stays, and is reported as SetIfAbsent
// reports it (linSetIfAbsent).
func linRecordCompute(rec *linRecorder, client int, in linInput, ttl time.Duration, replace bool,
	compute func(int, func(uint64, bool) (uint64, time.Duration, ufocache.ComputeOp)) (uint64, bool),
) {
	if replace {
		in.kind = linComputeReplace
		rec.record(client, in, func() linOutput {
			var out linOutput
			_, out.stored = compute(in.key, func(old uint64, live bool) (uint64, time.Duration, ufocache.ComputeOp) {
				out.val, out.ok = old, live
				runtime.Gosched() // f may take its time: writers of the key wait for it
				if !live {
					out.kept = true
					return 0, 0, ufocache.ComputeKeep
				}
				return in.val, ttl, ufocache.ComputeStore
			})
			return out
		})
		return
	}
	in.kind = linSetIfAbsent
	rec.record(client, in, func() linOutput {
		found := false
		v, ok := compute(in.key, func(old uint64, live bool) (uint64, time.Duration, ufocache.ComputeOp) {
			runtime.Gosched()
			if found = live; live {
				return old, 0, ufocache.ComputeKeep
			}
			return in.val, ttl, ufocache.ComputeStore
		})
		return linOutput{val: v, ok: ok && !found, kept: found}
	})
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
		ins := cfg.eachKey(linInput{kind: linDelete, how: "Clear"})
		purge := rt != nil && cfg.rt == 2 && r.IntN(2) == 0
		if rt != nil && cfg.rt == 2 {
			ins = cfg.eachKey(linInput{kind: linRTDelete, how: "RT.Clear"})
			if purge {
				ins = cfg.eachKey(linInput{kind: linRTDelete, how: "RT.DeleteKeysFunc(all)"})
			}
		}
		rec.recordEach(client, ins, func() []linOutput {
			switch {
			case purge:
				rt.DeleteKeysFunc(func(int) bool { return true })
			case rt != nil && cfg.rt == 2:
				rt.Clear()
			default:
				c.Clear()
			}
			return make([]linOutput, len(ins))
		})
		return
	}
	if cfg.ttls && linStepTTLs(r, rec, client, c, rt, cfg, k) {
		return
	}
	n := 10
	if rt != nil {
		n = 14
	}
	switch op := r.IntN(n); {
	case op < 3:
		in := linInput{kind: linSet, key: k, val: value(r, false), ttl: cfg.life(0)}
		if rt != nil && cfg.rt == 2 {
			ttl := cfg.ttl(r, 0, true)
			in.ttl = cfg.life(ttl)
			if op == 2 {
				// RTCache.Compute, in either shape: an RTCache write
				// whatever its function returns.
				in.how, in.rtWrite = "RT.Compute", true
				linRecordCompute(rec, client, in, ttl, r.IntN(2) == 0, rt.Compute)
				return
			}
			in.kind, in.how = linRTSet, "RT.Set"
			rec.record(client, in, func() linOutput { return linOutput{ok: rt.Set(k, in.val, ttl)} })
			return
		}
		switch op {
		case 0:
			in.how = "Set"
			rec.record(client, in, func() linOutput { return linOutput{ok: c.Set(k, in.val)} })
		case 1:
			ttl := cfg.ttl(r, ufocache.NoExpiration, true)
			in.how, in.ttl = "SetWithTTL", cfg.life(ttl)
			rec.record(client, in, func() linOutput { return linOutput{ok: c.SetWithTTL(k, in.val, ttl)} })
		default:
			ttl := cfg.ttl(r, 0, true)
			in.ttl = cfg.life(ttl)
			switch shape := r.IntN(4); shape {
			case 2, 1:
				in.how = "Compute"
				linRecordCompute(rec, client, in, ttl, shape == 2, c.Compute)
				return
			case 0:
				in.kind, in.how = linSetIfAbsent, "SetIfAbsent"
				rec.record(client, in, func() linOutput { v, ok := c.SetIfAbsent(k, in.val, ttl); return linOutput{val: v, ok: ok} })
				return
			}
			in.how = "ForceSet"
			rec.record(client, in, func() linOutput { return linOutput{ok: c.ForceSet(k, in.val, ttl)} })
		}
	case op < 4:
		in := linInput{kind: linDelete, key: k, how: "Delete"}
		if rt != nil && cfg.rt == 2 {
			in.kind, in.how = linRTDelete, "RT.Delete"
			if r.IntN(3) == 0 {
				// A purge that chooses k alone: a Delete of k, which
				// does not say what k held.
				in.how = "RT.DeleteKeysFunc"
				rec.record(client, in, func() linOutput {
					rt.DeleteKeysFunc(func(k2 int) bool { return k2 == k })
					return linOutput{}
				})
				return
			}
			rec.record(client, in, func() linOutput { v, ok := rt.Delete(k); return linOutput{val: v, ok: ok} })
			return
		}
		rec.record(client, in, func() linOutput { v, ok := c.Delete(k); return linOutput{val: v, ok: ok} })
	case op < 10:
		in := linInput{kind: linGet, key: k}
		switch op {
		case 4:
			in.how = "Get"
			rec.record(client, in, func() linOutput { v, ok := c.Get(k); return linOutput{val: v, ok: ok} })
		case 5:
			in.how = "GetWithTTL"
			rec.record(client, in, func() linOutput {
				v, left, ok := c.GetWithTTL(k)
				return linOutput{val: v, ok: ok, left: left, withTTL: true}
			})
		case 6, 7:
			in.how = "GetWithStatus"
			rec.record(client, in, func() linOutput {
				v, st := c.GetWithStatus(k)
				return linOutput{val: v, ok: st == ufocache.Hit, st: st}
			})
		case 8:
			in.how = "GetStale"
			rec.record(client, in, func() linOutput {
				v, stale, ok := c.GetStale(k)
				return linOutput{val: v, ok: ok, stale: stale}
			})
		default:
			in.how = "MultiGet"
			rec.record(client, in, func() linOutput {
				res := c.MultiGet([]int{k})
				return linOutput{val: res[0].Value, ok: res[0].Status == ufocache.Hit, st: res[0].Status}
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
		withTTL := op == 12
		if withTTL {
			in.how = "RT.GetWithTTL"
		}
		rec.record(client, in, func() linOutput {
			var out linOutput
			var err error
			if withTTL {
				out.val, out.left, out.st, err = rt.GetWithTTL(ctx, k)
				// The time left is judged of a value (a hit's, a
				// load's, one a recheck found) and of a cached error
				// (read with it); not of a load's error, whose cached
				// copy is read after the call, as the cache holds it then.
				out.withTTL = err == nil || out.st == ufocache.Hit
			} else {
				out.val, out.st, err = rt.Get(ctx, k)
			}
			if !cfg.expected(ctx, err) {
				// Only the injected failure, load timeouts and the
				// leavers' ends are expected: report anything else as
				// a value never written.
				return linOutput{val: ^uint64(0), st: ufocache.Hit}
			}
			out.err = err
			return out
		})
	}
}

// linStepTTLs runs and records, one time in three, one of the operations
// of expiry on key k (or of the Clock), and reports whether it did.
func linStepTTLs(r *rand.Rand, rec *linRecorder, client int, c *ufocache.Cache[int, uint64], rt *ufocache.RTCache[int, uint64],
	cfg linConfig, k int,
) bool {
	switch r.IntN(12) {
	case 0, 1:
		rec.now.t.Add(int64(time.Duration(1+r.IntN(3)) * linTick / 2))
	case 2:
		// Each recorded key at its own point within the call, as Clear.
		ins := cfg.eachKey(linInput{kind: linDeleteExpired, ttl: linKeepExpired, how: "DeleteExpired"})
		rec.recordEach(client, ins, func() []linOutput {
			c.DeleteExpired()
			return make([]linOutput, len(ins))
		})
	case 3:
		if rt == nil {
			return false
		}
		in := linInput{kind: linInvalidate, key: k, how: "RT.Invalidate"}
		rec.record(client, in, func() linOutput { return linOutput{ok: rt.Invalidate(k)} })
	default:
		if rt == nil || r.IntN(3) != 0 {
			return false
		}
		in := linInput{kind: linRTGet, key: k, ttl: linStaleTTL, how: "RT.GetStale", staleIfError: true}
		get := rt.GetStale
		if r.IntN(2) == 0 {
			in.how, in.staleIfError, get = "RT.GetStaleWhileUpdate", false, rt.GetStaleWhileUpdate
		}
		rec.record(client, in, func() linOutput {
			ctx := context.Background()
			v, st, err := get(ctx, k, in.ttl)
			if !cfg.expected(ctx, err) {
				return linOutput{val: ^uint64(0), st: ufocache.Hit} // never legal
			}
			return linOutput{val: v, st: st.Status, stale: st.StaleFor, err: err}
		})
	}
	return true
}

// frozenClock is a Clock that never moves, for caches with no TTLs: an
// injected clock keeps the coarse clock's goroutine out of the tests.
type frozenClock struct{}

func (frozenClock) Nanotime() int64 { return 1 }

// linClock is the caches' Clock: it moves only where a client steps it
// (with ttls), and an injected clock keeps the coarse clock's goroutine
// out of the histories.
type linClock struct{ t atomic.Int64 }

func (c *linClock) Nanotime() int64 { return c.t.Load() }

// TestLinModelRejects shows the model can fail: hand-made histories that
// break the promise are rejected, and their legal twins accepted.
func TestLinModelRejects(t *testing.T) {
	type o = linOp
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
	// With the Clock: clocked gives op the readings [from, to], and
	// lives makes a Set's value live for ttl.
	clocked := func(op o, from, to int64) o { op.in.from, op.in.to = from, to; return op }
	lives := func(op o, ttl time.Duration) o { op.in.ttl = ttl; return op }
	expired := func(k int, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "GetWithStatus"}, linOutput{st: ufocache.Expired}, call, ret}
	}
	staleRead := func(k int, v uint64, d time.Duration, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "GetStale"}, linOutput{val: v, ok: true, stale: d}, call, ret}
	}
	// rtStale is an RT.GetStale with a staleTTL of 4 that served v, d past
	// its expiry, once a load of k failed while it waited; unfailed is one
	// that no failed load answered.
	rtStale := func(k int, v uint64, d time.Duration, call, ret int64) o {
		return o{linInput{kind: linRTGet, key: k, how: "RT.GetStale", ttl: 4, staleIfError: true}, linOutput{val: v, st: ufocache.Stale, stale: d, failedLoad: true}, call, ret}
	}
	unfailed := func(op o) o { op.out.failedLoad = false; return op }
	invalidate := func(k int, call, ret int64) o {
		return o{linInput{kind: linInvalidate, key: k, how: "RT.Invalidate", at: call}, linOutput{ok: true}, call, ret}
	}
	// deleteExpired is a DeleteExpired with a KeepExpired of 5.
	deleteExpired := func(k int, call, ret int64) o {
		return o{linInput{kind: linDeleteExpired, key: k, how: "DeleteExpired", ttl: 5}, linOutput{}, call, ret}
	}
	// failedAt is the leader of a load of k, called at stamp at, whose
	// error id is cached for 10 from the reading 0.
	failedAt := func(k int, id uint64, at, call, ret int64) o {
		op := o{linInput{kind: linRTGet, key: k, how: "RT.Get"}, linOutput{st: ufocache.Miss, err: &linLoadError{id}, errID: id}, call, ret}
		op.out.loadAt, op.out.loadKey, op.out.loadTTL = at, k, 10
		return op
	}
	cachedError := func(k int, id uint64, call, ret int64) o {
		return o{linInput{kind: linRTGet, key: k, how: "RT.Get"}, linOutput{st: ufocache.Hit, err: &linLoadError{id}, errID: id}, call, ret}
	}
	const a, b, l, e = 1<<4 | 1, 2<<4 | 1, 3<<4 | 1 | linLoadedBit, 4<<4 | 1 | linLoadedBit
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
		// Expiry, on the Clock the calls read within [from, to]: a value
		// set for 10 at the reading 0 expires at 10.
		{"hit before the expiry", []o{lives(set(1, a, 1, 2), 10), clocked(get(1, a, 3, 4), 9, 9)}, true, true, false},
		{"hit at the expiry", []o{lives(set(1, a, 1, 2), 10), clocked(get(1, a, 3, 4), 10, 10)}, false, false, false},
		{"hit after an expiry a late Set reading allows", []o{clocked(lives(set(1, a, 1, 2), 10), 0, 5), clocked(get(1, a, 3, 4), 14, 14)}, true, true, false},
		{"hit after the latest expiry a Set reading allows", []o{clocked(lives(set(1, a, 1, 2), 10), 0, 5), clocked(get(1, a, 3, 4), 15, 15)}, false, false, false},
		{"hit after a read that found the value expired", []o{clocked(lives(set(1, a, 1, 2), 10), 0, 5), clocked(expired(1, 3, 4), 12, 12), clocked(get(1, a, 5, 6), 13, 13)}, false, false, false},
		{"expired before the TTL passed", []o{lives(set(1, a, 1, 2), 10), clocked(expired(1, 3, 4), 5, 5)}, false, false, false},
		{"forever value read as expired", []o{set(1, a, 1, 2), clocked(expired(1, 3, 4), 50, 50)}, false, false, false},
		{"stale read of its true age", []o{lives(set(1, a, 1, 2), 10), clocked(staleRead(1, a, 3, 3, 4), 13, 13)}, true, true, false},
		{"stale read of a wrong age", []o{lives(set(1, a, 1, 2), 10), clocked(staleRead(1, a, 2, 3, 4), 13, 13)}, false, false, false},
		{"delete that finds an expired value", []o{lives(set(1, a, 1, 2), 10), clocked(del(1, a, 3, 4), 11, 11)}, false, false, false},
		{"RT stale read within staleTTL", []o{lives(rtSet(1, a, 1, 2), 10), clocked(rtStale(1, a, 4, 3, 4), 14, 14)}, true, true, true},
		{"RT stale read past staleTTL", []o{lives(rtSet(1, a, 1, 2), 10), clocked(rtStale(1, a, 5, 3, 4), 15, 15)}, false, false, true},
		{"hit after Invalidate", []o{rtSet(1, a, 1, 2), clocked(invalidate(1, 3, 4), 5, 5), clocked(rtGet(1, a, ufocache.Hit, 5, 6), 5, 5)}, false, false, true},
		{"stale read after Invalidate", []o{rtSet(1, a, 1, 2), clocked(invalidate(1, 3, 4), 5, 5), clocked(rtStale(1, a, 1, 5, 6), 5, 5)}, true, true, true},
		{"stale read of a value DeleteExpired kept", []o{lives(set(1, a, 1, 2), 10), clocked(deleteExpired(1, 3, 4), 14, 14), clocked(staleRead(1, a, 5, 5, 6), 15, 15)}, true, true, false},
		{"stale read of a value DeleteExpired reclaimed", []o{lives(set(1, a, 1, 2), 10), clocked(deleteExpired(1, 3, 4), 15, 15), clocked(staleRead(1, a, 6, 5, 6), 16, 16)}, false, false, false},
		// A load error cached for 10 from the reading 0.
		{"cached error within its ErrorTTL", []o{failedAt(1, e, 2, 1, 3), clocked(cachedError(1, e, 4, 5), 9, 9)}, true, true, false},
		{"cached error past its ErrorTTL", []o{failedAt(1, e, 2, 1, 3), clocked(cachedError(1, e, 4, 5), 10, 10)}, false, false, false},
		{"load while an error is cached", []o{failedAt(1, e, 2, 1, 3), clocked(loadedAt(1, l, ufocache.Miss, 5, 4, 6), 5, 5)}, false, false, false},
		{"load once the cached error expired", []o{failedAt(1, e, 2, 1, 3), clocked(loadedAt(1, l, ufocache.Miss, 5, 4, 6), 10, 10)}, true, true, false},
		{"cached error after an RT.Set", []o{failedAt(1, e, 2, 1, 3), rtSet(1, a, 4, 5), cachedError(1, e, 6, 7)}, false, false, true},
		// RT.GetStale serves a stale value only for a failed load, or a
		// cached error that had not expired (ErrorTTL 10 from 0, here).
		{"RT stale read with no failed load", []o{lives(rtSet(1, a, 1, 2), 10), clocked(unfailed(rtStale(1, a, 4, 3, 4)), 14, 14)}, false, false, true},
		// The error is cached first: a Cache.Set, unlike RTCache's writes,
		// leaves it.
		{"RT stale read on a cached error", []o{failedAt(1, e, 2, 1, 3), lives(set(1, a, 4, 5), 8), clocked(unfailed(rtStale(1, a, 1, 6, 7)), 9, 9)}, true, true, false},
		{"RT stale read on an expired cached error", []o{failedAt(1, e, 2, 1, 3), lives(set(1, a, 4, 5), 8), clocked(unfailed(rtStale(1, a, 3, 6, 7)), 11, 11)}, false, false, false},
		// The failed load's leader looked a up, live until 8, at the reading
		// 0 and found no entry: an eviction, after which (strict) a cannot
		// be read, stale or not.
		{"RT stale read of a value a leader's lookup found absent", []o{lives(rtSet(1, a, 1, 2), 8), failedAt(1, e, 4, 3, 5), clocked(unfailed(rtStale(1, a, 1, 6, 7)), 9, 9)}, false, true, false},
	} {
		checkVerdicts(t, tc.name, tc.ops, tc.strict, tc.loose, tc.detach)
	}
}

// linOp is one operation of a hand-built history.
type linOp struct {
	in       linInput
	out      linOutput
	call, rt int64
}

// checkVerdicts checks linModel's verdict on a hand-built history of ops,
// strict and loose, with the Forget detach setting given.
func checkVerdicts(t *testing.T, name string, ops []linOp, strict, loose, detach bool) {
	t.Helper()
	var history []porcupine.Operation
	for _, op := range ops {
		history = append(history, porcupine.Operation{Input: op.in, Output: op.out, Call: op.call, Return: op.rt})
	}
	history = append(history, linLeaderLookups(history)...) // as the recorder's finish adds them
	for _, s := range []bool{true, false} {
		want := loose
		if s {
			want = strict
		}
		if got := porcupine.CheckOperations(linModel(6, s, detach), history); got != want {
			t.Errorf("%s (strict=%v): linearizable = %v, want %v", name, s, got, want)
		}
	}
}

// TestLinRecorderAddsOnlyUnledLoads: a load whose value a Miss returned
// is that Miss's store, and gets no open-ended store of its own (which
// would let the value come back after an eviction); one whose value only
// a LockHit returned, or none, gets one, from its Loader's call to the
// history's end.
func TestLinRecorderAddsOnlyUnledLoads(t *testing.T) {
	rec := &linRecorder{now: &linClock{}, background: true, led: map[uint64]int64{}}
	const missed, joined, none = 1<<4 | linLoadedBit, 2<<4 | linLoadedBit, 3<<4 | linLoadedBit
	for _, tc := range []struct {
		v        uint64
		st       ufocache.Status
		returned bool
	}{{missed, ufocache.Miss, true}, {joined, ufocache.LockHit, true}, {none, 0, false}} {
		rec.loaded(1, tc.v, 0, false)
		if tc.returned {
			rec.record(0, linInput{kind: linRTGet, key: 1, how: "RT.Get"}, func() linOutput { return linOutput{val: tc.v, st: tc.st} })
		}
	}
	ops := rec.finish()
	stores := map[uint64]bool{}
	for _, op := range ops {
		if in := op.Input.(linInput); in.kind == linRTLoad {
			stores[in.val] = true
			if at := rec.clock.Load(); op.Return != at || op.Call >= at {
				t.Errorf("store of %#x spans [%d, %d], want from its Loader's call to %d", in.val, op.Call, op.Return, at)
			}
		}
	}
	if len(stores) != 2 || !stores[joined] || !stores[none] {
		t.Errorf("open-ended stores of %v, want of %#x and %#x only", stores, joined, none)
	}
}
