package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/zipf"
)

// The expiring workloads: a resolver's or a proxy's traffic, where every
// entry carries the time-to-live its origin gave it. Names are drawn from
// a Zipf distribution; each name has one TTL, drawn by a hash of its key;
// requests arrive one per step of virtual time, which the caches read
// from an injected clock. A hit is a Get that returns a value that has
// not expired; on a miss the replay stores the value again with its TTL.
// Only the caches in peers.Expiring take both a TTL per entry and a clock
// the replay drives.
const (
	expiringName     = "expiring"
	expiringRequests = 2_000_000
)

type expiringSpec struct {
	name   string
	keys   int
	s      float64
	step   time.Duration
	ttl    func(k uint64) time.Duration
	ttlDoc string
	caps   []int
}

var expiringSpecs = []expiringSpec{
	// 1000 requests a second over 33 minutes.
	{name: "ttl-mix", keys: 200_000, s: 1.0, step: time.Millisecond, ttl: mixTTL,
		ttlDoc: "30 s for 30% of the keys, 1 min for 20%, 5 min for 30%, 1 h for 20%", caps: []int{1000, 10000, 50000}},
	// 10,000 requests a second over 200 s: a wider, flatter key space
	// whose TTLs run out within the run, most of them more than once.
	{name: "ttl-short", keys: 1_000_000, s: 0.8, step: 100 * time.Microsecond, ttl: shortTTL,
		ttlDoc: "spread evenly from 10 s to 120 s", caps: []int{10000, 100000}},
}

// ttlHash spreads a key over 0..1023.
func ttlHash(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15) >> 54 }

// mixTTL: 30 s, 1 min, 5 min or 1 h, for 30/20/30/20% of the keys.
func mixTTL(k uint64) time.Duration {
	switch x := ttlHash(k); {
	case x < 307:
		return 30 * time.Second
	case x < 512:
		return time.Minute
	case x < 819:
		return 5 * time.Minute
	default:
		return time.Hour
	}
}

// shortTTL: from 10 s to 120 s, evenly.
func shortTTL(k uint64) time.Duration {
	return 10*time.Second + time.Duration(ttlHash(k))*110*time.Second/1024
}

// expiringWanted reports whether the run includes the expiring workload:
// a run of every trace, or one that names it in -traces.
func expiringWanted(cfg *config) bool {
	switch {
	case cfg.quick && len(cfg.traces) == 0:
		return false
	case len(cfg.traces) == 0:
		return true
	}
	return slices.Contains(cfg.traces, "all") || slices.Contains(cfg.traces, expiringName)
}

// replayExpiring replays keys through c, advancing *now by step before
// each request: Get, and on a miss Set (the cache was built with
// the spec's TTLs and a clock reading *now).
func replayExpiring(c peers.Cache[uint64, uint64], keys []uint64, now *int64, step time.Duration) replayResult {
	res := replayResult{requests: len(keys)}
	for _, k := range keys {
		*now += int64(step)
		if _, ok := c.Get(k); ok {
			res.hits++
		} else {
			c.Set(k, k)
		}
	}
	return res
}

// unboundedExpiring is the hit ratio of a cache with no bound on the same
// stream: every miss is a first request or an expired entry, the ceiling
// any bounded cache can reach.
func unboundedExpiring(keys []uint64, step time.Duration, ttl func(uint64) time.Duration) replayResult {
	res := replayResult{requests: len(keys)}
	expires := make(map[uint64]int64)
	var now int64
	for _, k := range keys {
		now += int64(step)
		if at, ok := expires[k]; ok && now < at {
			res.hits++
			continue
		}
		expires[k] = now + int64(ttl(k))
	}
	return res
}

// runExpiring replays the expiring workloads with each selected cache that
// supports them and returns their section of the report, its intro and its
// table (both empty if no cache does).
func runExpiring(cfg *config, caches []string) (intro, table string) {
	names := among(caches, peers.Expiring)
	if len(names) == 0 {
		return "", ""
	}
	type cell struct {
		spec     *expiringSpec
		keys     []uint64
		capacity int
		results  map[string]replayResult
		ceiling  replayResult
	}
	var cells []*cell
	for i := range expiringSpecs {
		sp := &expiringSpecs[i]
		keys := zipf.Keys(zipf.New(sp.keys, sp.s), expiringRequests, uint64(7+i))
		ceiling := unboundedExpiring(keys, sp.step, sp.ttl)
		for _, c := range sp.caps {
			cells = append(cells, &cell{spec: sp, keys: keys, capacity: c, results: make(map[string]replayResult), ceiling: ceiling})
		}
	}
	type job struct {
		c      *cell
		name   string
		result replayResult
	}
	var jobs []*job
	for _, c := range cells {
		for _, name := range names {
			jobs = append(jobs, &job{c: c, name: name})
		}
	}
	runPool(cfg.workers, jobs, func(j *job) {
		j.result = replays(cfg.runs, func() replayResult {
			var now int64
			c := peers.MustNew[uint64](j.name, peers.Config[uint64]{
				// The replay stores each key as its value: TTL(v) is the key's.
				Capacity: int64(j.c.capacity), Sync: true, TTL: j.c.spec.ttl, Clock: func() int64 { return now },
			})
			defer c.Close()
			return replayExpiring(c, j.c.keys, &now, j.c.spec.step)
		})
	})
	for _, j := range jobs {
		j.c.results[j.name] = j.result
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%d requests per workload, one per step of a virtual clock the caches read; a Zipf stream of keys, each of which "+
		"expires a fixed time after it is written. A hit is a Get that returns a value that has not expired; on a miss the value is stored again with its TTL. "+
		"Only %s %s a TTL per entry and a clock the replay drives. "+
		"`unbounded` is a cache with no bound: every miss is a first request or an expired entry. Hit ratio in percent, the mean of %s.\n",
		expiringRequests, andList(names), verb(len(names), "takes", "take"), plural(cfg.runs, "replay"))
	for _, sp := range expiringSpecs {
		fmt.Fprintf(&b, "\n- `%s`: Zipf s=%.1f over %d keys, one request per %s (%s in all); TTLs %s.", sp.name, sp.s, sp.keys, sp.step, time.Duration(expiringRequests)*sp.step, sp.ttlDoc)
	}
	intro = b.String()

	head := slices.Concat([]string{"workload @ capacity"}, names, []string{"unbounded"})
	diff := slices.Contains(names, peers.Ufocache) && len(names) > 1
	if diff {
		head = append(head, "ufocache − best peer (pp)")
	}
	t := newTable(head...)
	for _, c := range cells {
		row := []string{fmt.Sprintf("%s @ %d", c.spec.name, c.capacity)}
		best := -1.0
		for _, name := range names {
			r := 100 * c.results[name].ratio()
			row = append(row, fmt.Sprintf("%.2f", r))
			if name != peers.Ufocache {
				best = max(best, r)
			}
		}
		row = append(row, fmt.Sprintf("%.2f", 100*c.ceiling.ratio()))
		if diff {
			row = append(row, fmt.Sprintf("%+.2f", 100*c.results[peers.Ufocache].ratio()-best))
		}
		t.row(row...)
	}
	return intro, t.String()
}
