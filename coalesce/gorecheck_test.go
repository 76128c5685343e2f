package coalesce_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/ufocache/ufocache/coalesce"
)

// GoRecheck with no recheck starts fn where Go's RecheckGo (or Recheck)
// would answer, but not beside a call in flight for its key, nor once
// Close has begun; callers that come while it runs share its result.
func TestGoRecheckNilSkipsOnlyTheRecheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed []int
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck:   func(string) (int, bool, error) { return 3, true, nil },
			RecheckGo: func(string) (int, bool, error) { return 3, true, nil },
			Commit:    func(_ string, v int, err error) func() { committed = append(committed, v); return nil },
		})
		ctx := context.Background()
		release := make(chan struct{})
		fn := func(v int) func(context.Context) (int, error) {
			return func(context.Context) (int, error) { <-release; return v, nil }
		}
		if g.Go(ctx, "k", fn(4)) {
			t.Fatal("Go started fn although RecheckGo answered")
		}
		if !g.GoRecheck(ctx, "k", fn(4), nil) {
			t.Fatal("GoRecheck with no recheck did not start fn")
		}
		if g.GoRecheck(ctx, "k", fn(5), nil) {
			t.Error("GoRecheck with no recheck started a second fn beside the call in flight")
		}
		var v int
		var leader bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			v, leader, _ = g.Do(ctx, "k", fn(6))
		}()
		synctest.Wait()
		close(release)
		<-done
		if v != 4 || leader {
			t.Errorf("Do during GoRecheck's call = %d, leader %v; want its 4, joined", v, leader)
		}
		synctest.Wait()
		if len(committed) != 1 || committed[0] != 4 {
			t.Errorf("committed %v, want [4]", committed)
		}
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if g.GoRecheck(ctx, "k", fn(7), nil) {
			t.Error("GoRecheck with no recheck started fn after Close")
		}
	})
}
