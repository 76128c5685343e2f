package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/zipf"
)

// The expiring workload: a resolver's or a proxy's traffic, where every
// entry carries the time-to-live its origin gave it. Names are drawn from
// a Zipf distribution; each name has one TTL, drawn from a fixed mix by
// its key (expiringTTL); requests arrive one per expiringStep of virtual
// time, which the caches read from an injected clock. A hit is a Get that
// returns a value that has not expired; on a miss the replay stores the
// value again with its TTL. Only the caches in peers.Expiring take both a
// TTL per entry and a clock the replay drives.
const (
	expiringName     = "expiring"
	expiringRequests = 2_000_000
	expiringKeys     = 200_000
	expiringS        = 1.0
	expiringStep     = time.Millisecond // 1000 requests a second: 2M requests span 33 minutes
)

var expiringCaps = []int{1000, 10000, 50000}

// expiringTTL is key k's TTL: 30 s for 30% of the keys, 60 s for 20%,
// 5 min for 30%, an hour for 20%, by a hash of the key.
func expiringTTL(k uint64) time.Duration {
	switch x := (k * 0x9e3779b97f4a7c15) >> 54; { // 0..1023
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
// expiringTTL and a clock reading *now).
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
func unboundedExpiring(keys []uint64, step time.Duration) replayResult {
	res := replayResult{requests: len(keys)}
	expires := make(map[uint64]int64)
	var now int64
	for _, k := range keys {
		now += int64(step)
		if at, ok := expires[k]; ok && now < at {
			res.hits++
			continue
		}
		expires[k] = now + int64(expiringTTL(k))
	}
	return res
}

// runExpiring replays the expiring workload with each selected cache that
// supports it and returns its section of the report, its intro and its
// table (both empty if none does).
func runExpiring(cfg *config, caches []string) (intro, table string) {
	names := among(caches, peers.Expiring)
	if len(names) == 0 {
		return "", ""
	}
	keys := zipf.Keys(zipf.New(expiringKeys, expiringS), expiringRequests, 7)
	ttl := func(v uint64) time.Duration { return expiringTTL(v) } // the replay stores each key as its value
	type cell struct {
		capacity int
		results  map[string]replayResult
	}
	cells := make([]*cell, len(expiringCaps))
	for i, c := range expiringCaps {
		cells[i] = &cell{capacity: c, results: make(map[string]replayResult)}
	}
	type job struct {
		c    *cell
		name string
	}
	var jobs []job
	for _, c := range cells {
		for _, name := range names {
			jobs = append(jobs, job{c, name})
		}
	}
	results := make([]replayResult, len(jobs))
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	runPool(cfg.workers, order, func(i int) {
		j := jobs[i]
		results[i] = replays(cfg.runs, func() replayResult {
			var now int64
			c := peers.MustNew[uint64](j.name, peers.Config[uint64]{
				Capacity: int64(j.c.capacity), Sync: true, TTL: ttl, Clock: func() int64 { return now },
			})
			defer c.Close()
			return replayExpiring(c, keys, &now, expiringStep)
		})
	})
	for i, j := range jobs {
		j.c.results[j.name] = results[i]
	}
	ceiling := unboundedExpiring(keys, expiringStep)

	intro = fmt.Sprintf("Zipf s=%.1f over %d keys, %d requests, one per %s of a virtual clock the caches read (%s in all); "+
		"each key expires a fixed time after it is written: 30 s for 30%% of the keys, 1 min for 20%%, 5 min for 30%%, 1 h for 20%%. "+
		"A hit is a Get that returns a value that has not expired; on a miss the value is stored again with its TTL. "+
		"Only %s %s a TTL per entry and a clock the replay drives. "+
		"`unbounded` is a cache with no bound: every miss is a first request or an expired entry. Hit ratio in percent, the mean of %s.",
		expiringS, expiringKeys, expiringRequests, expiringStep, time.Duration(expiringRequests)*expiringStep, andList(names), verb(len(names), "takes", "take"), plural(cfg.runs, "replay"))
	var b strings.Builder
	head := slices.Concat([]string{"capacity"}, names, []string{"unbounded"})
	if slices.Contains(names, peers.Ufocache) && len(names) > 1 {
		head = append(head, "ufocache − best peer (pp)")
	}
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat(" ---: |", len(head)) + "\n")
	for _, c := range cells {
		row := []string{fmt.Sprint(c.capacity)}
		best := -1.0
		for _, name := range names {
			r := 100 * c.results[name].ratio()
			row = append(row, fmt.Sprintf("%.2f", r))
			if name != peers.Ufocache {
				best = max(best, r)
			}
		}
		row = append(row, fmt.Sprintf("%.2f", 100*ceiling.ratio()))
		if len(head) > len(names)+2 {
			row = append(row, fmt.Sprintf("%+.2f", 100*c.results[peers.Ufocache].ratio()-best))
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	return intro, b.String()
}
