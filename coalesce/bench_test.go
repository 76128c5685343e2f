package coalesce_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// BenchmarkDo is the cost of a load that nobody shares: each Do claims a
// new key, runs fn on a goroutine of its own (the caller's ctx can end)
// and frees the key. fn returns at once, so what is timed is the Group.
// "inner-timeout" is a function that bounds its own work with
// context.WithTimeout, as an origin client does.
func BenchmarkDo(b *testing.B) {
	for _, tc := range []struct {
		name        string
		loadTimeout time.Duration
		inner       bool
	}{
		{"plain", 0, false},
		{"load-timeout", time.Minute, false},
		{"inner-timeout", 0, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			g, err := coalesce.New(coalesce.Options[int64, int64]{LoadTimeout: tc.loadTimeout})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := next.Add(1)
					v, _, err := g.Do(ctx, k, func(ctx context.Context) (int64, error) {
						if tc.inner {
							ictx, stop := context.WithTimeout(ctx, time.Minute)
							defer stop()
							ctx = ictx
						}
						return k, ctx.Err()
					})
					if err != nil || v != k {
						b.Fatalf("Do(%d) = %d, %v", k, v, err)
					}
				}
			})
		})
	}
}
