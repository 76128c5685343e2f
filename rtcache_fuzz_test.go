package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// FuzzRTCache runs random Get, GetWithTTL, GetStale, GetStaleWhileUpdate, MultiGet,
// Set, Compute, Delete, DeleteFunc, DeleteKeysFunc, Invalidate, Refresh and Clear callers on four keys against an origin whose
// loads, by a script, return, fail, panic, call Goexit, take their time or
// hang, or first look up the next key with their ctx (so that loads of
// the four keys may wait for each other in a loop), under random
// RTOptions. Once every caller is through and every hung
// load released: no caller was left waiting (synctest reports a deadlock),
// no load holds a key, every error is one a lookup may return, the Cache
// keeps its bound, and RTStats agrees with the origin: Loads is the number
// of keys it was asked for, and LoadErrors is at least the number it failed
// (timeouts add to it) and at most Loads. Close may come among the calls:
// ErrClosed only once it began, and no load started once a Close
// returned nil.
func FuzzRTCache(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, []byte{0, 1, 4, 0, 2}, uint16(0))
	f.Add([]byte("a stampede of read-through callers"), []byte{5, 0, 0, 3, 1}, uint16(0x1ff))
	f.Add([]byte{4, 4, 4, 36, 36, 68, 100, 4, 132}, []byte{4, 4, 2}, uint16(0x0a5))
	// Each key's load looks up the next first: the four loads wait in a loop.
	f.Add([]byte{0, 0, 8, 0, 16, 0, 24, 0, 3, 9}, []byte{6}, uint16(0))
	f.Add([]byte{0, 0, 8, 0, 16, 0, 24, 0, 3, 9}, []byte{6, 6, 0}, uint16(0x44))
	// Close (7, 0x22/0x20) among lookups, with hanging and slow loads.
	f.Add([]byte{0, 0, 9, 1, 7, 0x22, 2, 3, 19, 0x84, 3, 9, 7, 0x20, 8, 0, 11, 4}, []byte{5, 10, 0, 1}, uint16(0x44))
	f.Add([]byte{3, 9, 0, 0, 7, 0x21, 16, 0, 1, 2, 7, 0x23, 3, 5}, []byte{28, 0, 5}, uint16(0x214))
	// Compute (4, 0x40 on), Refresh (6) and DeleteFunc (5) among loads.
	f.Add([]byte{0, 0, 4, 0x51, 6, 0x40, 0, 0, 4, 0x62, 8, 0, 4, 0x73, 14, 0x41, 12, 0x40, 8, 0}, []byte{4, 1, 0, 5}, uint16(0x109))
	f.Add([]byte{0, 0, 8, 0, 14, 0x40, 4, 0x12, 13, 0x40, 0, 0, 5, 0x60, 8, 0}, []byte{5, 0, 4}, uint16(0x21))
	// DeleteKeysFunc (5, 0x50 on) of a key whose load hangs, then of every key.
	f.Add([]byte{0, 0, 5, 0x50, 8, 0, 3, 1, 13, 0x70, 0, 0}, []byte{5, 1, 0}, uint16(0x08))
	f.Fuzz(func(t *testing.T, ops, script []byte, cfg uint16) {
		if len(ops) > 80 {
			ops = ops[:80]
		}
		if len(script) == 0 {
			script = []byte{0}
		}
		synctest.Test(t, func(t *testing.T) { fuzzRTCache(t, ops, script, cfg) })
	})
}

var errOriginDown = errors.New("origin down")

func fuzzRTCache(t *testing.T, ops, script []byte, cfg uint16) {
	ms := time.Millisecond
	hang := make(chan struct{})
	var calls, asked, failed atomic.Int64
	var rt *ufocache.RTCache[int, int]
	// Close: closing is set before the first Close is called, closed once
	// one has returned nil.
	var closing, closed atomic.Bool
	var afterClose atomic.Int64 // loads started after a Close returned nil
	// behave runs one load's scripted behaviour (k is its first key): 0
	// returns (having looked up k+1 first, for b/6 odd: a loop of loads
	// gets ErrLoadCycle), 1 fails, 2 panics, 3 calls Goexit, 4 takes a
	// while, 5 hangs until the end.
	behave := func(ctx context.Context, k, keys int) error {
		b := script[int(calls.Add(1)-1)%len(script)]
		asked.Add(int64(keys))
		if closed.Load() {
			afterClose.Add(1)
		}
		switch b % 6 {
		case 0:
			if b/6%2 == 1 {
				if _, _, err := rt.Get(ctx, (k+1)%4); err != nil {
					return err
				}
			}
		case 1:
			failed.Add(int64(keys))
			// Kept for ErrorTTL, for 4ms, or nowhere.
			return []error{errOriginDown, ufocache.ErrorWithTTL(errOriginDown, 4*ms), ufocache.ErrorWithTTL(errOriginDown, -1)}[b/6%3]
		case 2:
			failed.Add(int64(keys))
			panic("origin bug")
		case 3:
			failed.Add(int64(keys))
			runtime.Goexit()
		case 4:
			time.Sleep(time.Duration(b/6%6) * ms)
		case 5:
			<-hang
		}
		return nil
	}
	ttl := []time.Duration{0, 3 * ms}[cfg>>8&1]
	load := func(ctx context.Context, k int) (int, time.Duration, error) {
		if err := behave(ctx, k, 1); err != nil {
			return 0, 0, err
		}
		return k + 1000, ttl, nil
	}
	opts := ufocache.RTOptions[int, int]{
		LockAge:        []time.Duration{0, 5 * ms}[cfg&1],
		LockTimeout:    []time.Duration{0, 3 * ms}[cfg>>1&1],
		LoadTimeout:    []time.Duration{0, 4 * ms}[cfg>>2&1],
		ErrorTTL:       []time.Duration{0, 2 * ms}[cfg>>3&1],
		RefreshAhead:   []time.Duration{0, ms}[cfg>>4&1],
		MaxRefreshes:   []int{0, 1}[cfg>>5&1],
		MaxBatch:       []int{0, 1}[cfg>>9&1], // with a BatchLoader: every key a part of its own
		LoadTimeoutTTL: []time.Duration{0, -1}[cfg>>10&1],
	}
	if cfg>>6&1 != 0 {
		opts.BatchLoader = func(ctx context.Context, keys []int) ([]ufocache.Loaded[int], error) {
			if err := behave(ctx, keys[0], len(keys)); err != nil {
				return nil, err
			}
			out := make([]ufocache.Loaded[int], len(keys))
			for i, k := range keys {
				out[i] = ufocache.Loaded[int]{Value: k + 1000, TTL: ttl}
			}
			return out, nil
		}
	}
	const maxWeight = 3
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: maxWeight, Shards: 1, Clock: newBubbleClock()})
	var err error
	rt, err = ufocache.NewRTCache(c, load, opts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bad []string
	check := func(op string, k int, v int, err error) {
		var pe *ufocache.PanicError
		ok := err == nil && (v == k+1000 || v == k+2000) ||
			err != nil && (err == errOriginDown || errors.As(err, &pe) || err == ufocache.ErrGoexit ||
				err == ufocache.ErrLoadTimeout || err == ufocache.ErrLockTimeout || err == ufocache.ErrLoadCycle ||
				errors.Is(err, context.DeadlineExceeded) ||
				// Close: its refusal, or its ctx ending the loads' (a
				// Loader's nested lookup returns context.Canceled).
				closing.Load() && (err == ufocache.ErrClosed || err == context.Canceled))
		if !ok {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s(%d) = %d, %v", op, k, v, err))
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i := 0; i+1 < len(ops); i += 2 {
		op, b := ops[i], ops[i+1]
		k := int(op>>3) % 4
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if b&0x80 != 0 {
			ctx, cancel = context.WithTimeout(ctx, time.Duration(b%4+1)*ms)
		}
		call := func(f func()) {
			wg.Go(func() {
				defer cancel()
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(*ufocache.PanicError); !ok {
							mu.Lock()
							bad = append(bad, fmt.Sprintf("op %d on %d panicked with %v", op%8, k, r))
							mu.Unlock()
						}
					}
				}()
				f()
			})
		}
		switch op % 8 {
		case 0:
			if b&0x40 != 0 {
				call(func() {
					// Every TTL here is at most 3ms, or none.
					v, left, st, err := rt.GetWithTTL(ctx, k)
					switch {
					case err != nil && (left < 0 || left > max(opts.ErrorTTL, 4*ms)): // a cached error's time left (ErrorWithTTL's 4ms kept without ErrorTTL too)
						err = fmt.Errorf("%v, with %v left", err, left) // no longer a wrap check accepts
					case err == nil && left != ufocache.NoExpiration && (left < 0 || left > 3*ms):
						err = fmt.Errorf("%v left", left)
					case err == nil && st == ufocache.Hit && left <= 0:
						err = errors.New("a hit with no time left")
					}
					check("GetWithTTL", k, v, err)
				})
				break
			}
			call(func() {
				v, st, err := rt.Get(ctx, k)
				if err == nil && st == ufocache.Hit && v == 0 {
					err = errors.New("a hit of no value")
				}
				check("Get", k, v, err)
			})
		case 1:
			call(func() { v, _, err := rt.GetStale(ctx, k, time.Duration(b%3)*ms); check("GetStale", k, v, err) })
		case 2:
			call(func() {
				v, _, err := rt.GetStaleWhileUpdate(ctx, k, time.Duration(b%3)*ms)
				check("GetStaleWhileUpdate", k, v, err)
			})
		case 3:
			keys := []int{k, int(b) % 4, int(b>>2) % 4}
			call(func() {
				res, _ := rt.MultiGet(ctx, keys)
				for j, r := range res {
					check("MultiGet", keys[j], r.Value, r.Err)
				}
			})
		case 4:
			if b&0x40 != 0 {
				// Compute: keep, store, remove, or store keeping the
				// expiry, by b's bits; the old value it is shown is one
				// a load or a Set stored.
				rt.Compute(k, func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
					if found && old != k+1000 && old != k+2000 {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("Compute(%d) found %d", k, old))
						mu.Unlock()
					}
					op := []ufocache.ComputeOp{ufocache.ComputeKeep, ufocache.ComputeStore, ufocache.ComputeRemove, ufocache.ComputeUpdate}[b>>4&3]
					return k + 2000, time.Duration(b%4) * ms, op
				})
				cancel()
				break
			}
			rt.Set(k, k+2000, time.Duration(b%4)*ms)
			cancel()
		case 5:
			if b&0x50 == 0x50 {
				// DeleteKeysFunc of k, or of every key.
				rt.DeleteKeysFunc(func(k2 int) bool { return k2 == k || b&0x20 != 0 })
				cancel()
				break
			}
			if b&0x40 != 0 {
				// DeleteFunc of k, or of every key holding a Set's value.
				rt.DeleteFunc(func(k2, v int) bool { return k2 == k || b&0x20 != 0 && v == k2+2000 })
				cancel()
				break
			}
			rt.Delete(k)
			cancel()
		case 6:
			if b&0x40 != 0 {
				rt.Refresh(ctx, k)
				cancel()
				break
			}
			rt.Invalidate(k)
			cancel()
		case 7:
			switch {
			case b&0x40 != 0:
				rt.Clear()
			case b&0x20 != 0:
				// Close, with a ctx that may end first (it then ends the
				// loads' contexts; the hanging ones ignore theirs).
				closing.Store(true)
				wg.Go(func() {
					c, stop := context.WithTimeout(context.Background(), time.Duration(b%4)*ms)
					defer stop()
					// (InFlight may still count, for a moment, a lookup's
					// claim of its key that Close is turning away.)
					if err := rt.Close(c); err == nil {
						closed.Store(true)
					} else if err != context.DeadlineExceeded {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("Close: %v", err))
						mu.Unlock()
					}
				})
			default:
				time.Sleep(time.Duration(b%6) * ms)
			}
			cancel()
		}
	}
	time.Sleep(50 * ms)
	close(hang)
	wg.Wait()
	time.Sleep(50 * ms)
	synctest.Wait()
	if closing.Load() {
		c, stop := context.WithTimeout(context.Background(), 50*ms)
		defer stop()
		if err := rt.Close(c); err != nil {
			t.Errorf("Close once every load finished: %v", err)
		}
	}
	if n := afterClose.Load(); n != 0 {
		t.Errorf("%d loads started after a Close returned nil", n)
	}
	for _, s := range bad {
		t.Error(s)
	}
	if n := rt.InFlight(); n != 0 {
		t.Errorf("InFlight = %d once every load finished", n)
	}
	if n := c.Len(); n > maxWeight {
		t.Errorf("Len = %d, above MaxWeight %d", n, maxWeight)
	}
	s := rt.Stats()
	if s.Loads != uint64(asked.Load()) || s.LoadErrors < uint64(failed.Load()) || s.LoadErrors > s.Loads {
		t.Errorf("RTStats %+v; the origin was asked for %d keys and failed %d", s, asked.Load(), failed.Load())
	}
}
