package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// StaleStatus.TTL on the paths TestRTGetStaleReportsTheTTL leaves out:
// a failed load over a stale value when a fresh value was stored
// meanwhile (Status Hit, that value's time left: a TTL of 0 there
// survived every test), a LockHit joiner (the load's TTL less the time
// since it returned), a value too heavy to store (its Loader's TTL all
// the same), a negative TTL (0), and a lookup Close turned away (0 with
// its error, as GetWithTTL).
func TestRTGetStaleTTLOnEveryPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		release := make(chan struct{})
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			switch {
			case k == "set-meanwhile":
				rt.Set(k, "fresh", 30*time.Second)
				return "", 0, errors.New("origin down")
			case k == "joined":
				<-release
				time.Sleep(3 * time.Second) // the load takes 3s more; its value then has 20s
				return "new", 20 * time.Second, nil
			case k == "heavy":
				return strings.Repeat("x", 500), 20 * time.Second, nil
			case k == "negative":
				return "once", -time.Second, nil
			}
			return "v", 20 * time.Second, nil
		}
		rt = newRTLoading(t, load, ufocache.RTOptions[string, string]{},
			ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour,
				Weigher: func(_ string, v string) uint32 { return uint32(len(v)) }})
		ctx := context.Background()
		rt.Set("set-meanwhile", "old", time.Minute)
		time.Sleep(2 * time.Minute) // expired a minute ago

		check := func(name string, v string, ss ufocache.StaleStatus, err error, want string) {
			t.Helper()
			if g := fmt.Sprint(v, " ", ss.Status, " ", ss.StaleFor, " ", ss.TTL, " ", err != nil); g != want {
				t.Errorf("%s: got %q, want %q (err %v)", name, g, want, err)
			}
		}
		v, ss, err := rt.GetStale(ctx, "set-meanwhile", time.Hour)
		check("a failed load, a fresh value stored meanwhile", v, ss, err, "fresh hit 0s 30s false")

		type answer struct {
			v   string
			ss  ufocache.StaleStatus
			err error
		}
		leader, joiner := make(chan answer, 1), make(chan answer, 1)
		go func() { v, ss, err := rt.GetStale(ctx, "joined", time.Hour); leader <- answer{v, ss, err} }()
		synctest.Wait()
		go func() {
			v, ss, err := rt.GetStaleWhileUpdate(ctx, "joined", time.Hour)
			joiner <- answer{v, ss, err}
		}()
		synctest.Wait()
		close(release)
		l, j := <-leader, <-joiner
		check("the load's leader", l.v, l.ss, l.err, "new miss 0s 20s false")
		check("a joiner", j.v, j.ss, j.err, "new lock-hit 0s 20s false")

		v, ss, err = rt.GetStale(ctx, "heavy", time.Hour)
		check("a value too heavy to store", v[:1], ss, err, "x miss 0s 20s false")
		v, ss, err = rt.GetStale(ctx, "negative", time.Hour)
		check("a negative TTL", v, ss, err, "once miss 0s 0s false")

		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		v, ss, err = rt.GetStale(ctx, "after-close", time.Hour)
		check("a lookup Close turned away", v, ss, err, " miss 0s 0s true")
	})
}
