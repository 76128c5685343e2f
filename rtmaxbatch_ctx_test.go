package ufocache

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// A MultiGet whose ctx ends while its parts run starts no further part:
// with MaxMultiLoads 1, the BatchLoader runs once, not once per part at
// once (a flood past MaxMultiLoads), and the parts not taken fail with
// ctx's error, keeping what their lookup found and counting nowhere.
func TestRTMaxBatchCtxEndStartsNoFurtherPart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		gate := make(chan struct{})
		o.setGate(gate)
		rt := newMaxBatchRT(t, o, RTOptions[int, int]{MaxBatch: 1, MaxMultiLoads: 1})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan []RTResult[int])
		go func() {
			res, _ := rt.MultiGet(ctx, append(keysUpTo(5), 3))
			done <- res
		}()
		synctest.Wait()
		cancel()
		res := <-done
		synctest.Wait()
		if _, batches := o.calls(); len(batches) != 1 {
			t.Errorf("%d BatchLoader calls after ctx ended, want 1 (MaxMultiLoads)", len(batches))
		}
		for i, r := range res {
			if !errors.Is(r.Err, context.Canceled) {
				t.Errorf("key %d: %+v, want ctx's error", i, r)
			}
			if i > 0 && r.Status != Miss {
				t.Errorf("key %d not taken: status %v, want Miss as its lookup found", i, r.Status)
			}
		}
		if st := rt.Stats(); st.Misses != 1 || st.LockHits != 0 {
			t.Errorf("stats %+v, want 1 miss (the part taken), no lock hits", st)
		}
		o.setGate(nil)
		close(gate)
		synctest.Wait()
		if rt.InFlight() != 0 {
			t.Errorf("%d keys held", rt.InFlight())
		}
	})
}
