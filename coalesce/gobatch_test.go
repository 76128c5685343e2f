package coalesce_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ufocache/ufocache/coalesce"
)

// GoBatch starts one background call of fn for the keys that are free and
// that RecheckGo does not answer, each once, and never waits: a key in
// flight keeps its call, a repeat is given once, a key RecheckGo answers
// is left out. A Do of a key of the batch joins it; Commit stores each key.
func TestGoBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		commits := map[string]int{}
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck:   func(string) (int, bool, error) { return 0, false, nil },
			RecheckGo: func(k string) (int, bool, error) { return 9, k == "fresh", nil },
			Commit: func(k string, v int, _ error) func() {
				mu.Lock()
				commits[k] = v
				mu.Unlock()
				return nil
			},
		})
		held := make(chan struct{})
		go g.Do(context.Background(), "held", func(context.Context) (int, error) { <-held; return 1, nil })
		synctest.Wait()
		gate := make(chan struct{})
		var given []string
		n := g.GoBatch(context.Background(), []string{"a", "held", "b", "a", "fresh"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			given = keys
			<-gate
			return []coalesce.Result[int]{{Val: 10}, {Val: 20}}, nil
		})
		if n != 2 {
			t.Fatalf("GoBatch started %d keys, want 2 (a and b)", n)
		}
		synctest.Wait() // GoBatch returned while fn waits
		if !slices.Equal(given, []string{"a", "b"}) {
			t.Fatalf("fn was given %v, want [a b]", given)
		}
		joined := make(chan int, 1)
		go func() {
			v, leader, _ := g.Do(context.Background(), "b", func(context.Context) (int, error) { return -1, nil })
			if leader {
				v = -v
			}
			joined <- v
		}()
		synctest.Wait()
		close(gate)
		if v := <-joined; v != 20 {
			t.Errorf("a Do of b during the batch got %d, want 20 as a joiner", v)
		}
		synctest.Wait()
		mu.Lock()
		if commits["a"] != 10 || commits["b"] != 20 || len(commits) != 2 {
			t.Errorf("commits %v, want a=10 b=20", commits)
		}
		mu.Unlock()
		close(held)
		synctest.Wait()
		if g.Len() != 0 {
			t.Errorf("Len %d after every call finished", g.Len())
		}
		if n := g.GoBatch(context.Background(), []string{"fresh"}, nil); n != 0 {
			t.Errorf("GoBatch of a key RecheckGo answers started %d", n)
		}
	})
}

// A panic in a GoBatch's fn reaches no caller: it is each key's error, a
// Do that joined gets it, and the keys are free.
func TestGoBatchPanicIsTheKeysError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		g.GoBatch(context.Background(), []string{"a", "b"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
			<-gate
			panic("boom")
		})
		got := make(chan error, 1)
		go func() {
			_, _, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { return 0, nil })
			got <- err
		}()
		synctest.Wait()
		close(gate)
		var pe *coalesce.PanicError
		if err := <-got; !errors.As(err, &pe) || pe.Value != "boom" {
			t.Errorf("a joiner got %v, want the *PanicError", err)
		}
		synctest.Wait()
		if g.Len() != 0 {
			t.Errorf("Len %d after the batch panicked", g.Len())
		}
	})
}
