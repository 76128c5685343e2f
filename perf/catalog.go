package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/ufocache/ufocache/perf/belady"
	"github.com/ufocache/ufocache/perf/synth"
	"github.com/ufocache/ufocache/perf/trace"
	"github.com/ufocache/ufocache/perf/zipf"
)

// traceSpec is one trace of the hit-ratio suite and the capacities (in
// entries) it is replayed at.
type traceSpec struct {
	name   string
	path   string // relative to -tracedir, or absolute for a user's trace
	format string
	caps   []int
	zipfS  float64 // > 0: a synthetic Zipf stream instead of a file
	quick  bool    // part of the -quick subset
	// gen, if set, generates the stream instead (package synth): a
	// workload outside the target set of the design brief, reported apart.
	gen func() []uint64
}

// synthetic reports whether s is one of the generated workloads reported
// apart from the target set (the bundled traces and the Zipf streams).
func (s traceSpec) synthetic() bool { return s.gen != nil }

// Zipf streams: 2M requests over 1M keys.
const (
	zipfRequests = 2_000_000
	zipfKeys     = 1_000_000
)

// catalog lists the bundled traces with the capacities of
// testdata/traces/README.md, in the order results are shown.
var catalog = []traceSpec{
	{name: "oltp", path: "arc/oltp.gz", format: trace.ARC, caps: []int{250, 500, 1000, 2000}},
	{name: "p3", path: "arc/p3.gz", format: trace.ARC, caps: []int{25000, 100000, 400000, 600000}},
	{name: "loop", path: "lirs/loop.trace.gz", format: trace.LIRS, caps: []int{250, 500, 750, 1000}},
	{name: "gli", path: "lirs/gli.trace.gz", format: trace.LIRS, caps: []int{250, 500, 1000, 2000}, quick: true},
	{name: "2_pools", path: "lirs/2_pools.trace.gz", format: trace.LIRS, caps: []int{500, 1000, 2000, 4000}},
	{name: "sprite", path: "lirs/sprite.trace.gz", format: trace.LIRS, caps: []int{250, 500, 1000, 2000}},
	{name: "multi2", path: "lirs/multi2.trace.gz", format: trace.LIRS, caps: []int{250, 500, 1000, 2000}, quick: true},
	{name: "zigzag", path: "lirs/zigzag.trace.gz", format: trace.LIRS, caps: []int{250, 500, 1000, 1500}, quick: true},
	{name: "corda", path: "corda/trace_vaultservice.gz", format: trace.Int64BE, caps: []int{1000, 4000, 16000, 32000}},
	{name: "web12", path: "cache2k/web12.trace.gz", format: trace.Int32BE, caps: []int{256, 1024, 2048, 4096}},
	{name: "cloudphysics", path: "oracle/cloudPhysicsIO.oracleGeneral.bin.gz", format: trace.OracleGeneral, caps: []int{1000, 4000, 8000, 16000}},
	{name: "zipf0.8", zipfS: 0.8, caps: []int{1000, 10000, 100000}},
	{name: "zipf1.0", zipfS: 1.0, caps: []int{1000, 10000, 100000}},
	{name: "zipf1.2", zipfS: 1.2, caps: []int{1000, 10000, 100000}},
	// Synthetic workloads (see package synth), added after the policy was
	// tuned on the rest: traffic shapes a proxy meets that no bundled
	// trace was recorded from.
	{name: "shift", caps: []int{1000, 10000, 50000}, gen: func() []uint64 {
		// Zipf 0.9 over 200k keys; every 150k requests, 7 ranks in 10
		// pass to new keys.
		return synth.Shift(1_500_000, 200_000, 0.9, 150_000, 7, 1)
	}},
	{name: "scanmix", caps: []int{1000, 10000}, gen: func() []uint64 {
		// Zipf 1.0 over 100k keys; every 40k requests a scan of 15k new keys.
		return synth.ScanMix(1_000_000, 100_000, 1.0, 40_000, 15_000, 2)
	}},
	{name: "loopmix", caps: []int{1000, 2500, 5000}, gen: func() []uint64 {
		// Half Zipf 0.8 over 50k keys, half a loop over 3000.
		return synth.LoopMix(1_000_000, 50_000, 0.8, 3_000, 3)
	}},
	{name: "recency", caps: []int{500, 2000, 8000}, gen: func() []uint64 {
		// LRU stack model: 85% reuses at an exponential depth of mean 800.
		return synth.Recency(800_000, 0.85, 800, 50_000, 4)
	}},
	{name: "sessions", caps: []int{800, 1000, 2000}, gen: func() []uint64 {
		// 700 sessions open at once, of 5-45 requests each: every
		// capacity holds them, with room for 100 ended ones at 800.
		return synth.Sessions(1_000_000, 700, 5, 45, 6)
	}},
	{name: "fade", caps: []int{1000, 5000, 20000}, gen: func() []uint64 {
		// Zipf 0.9 over 100k ranks; each key enters as the hottest and
		// sinks a rank every 20 requests (a helper's search for weak
		// spots found it, 2026-12-07).
		return synth.Fade(1_000_000, 100_000, 0.9, 20, 12)
	}},
	{name: "bimodal", caps: []int{1000, 2000, 3000}, gen: func() []uint64 {
		// Half the keys come back within 1-100 requests, half after
		// 3000-4500, each again with probability 0.8 (a helper's search
		// for weak spots; a lever that promoted read small heads lost
		// 14 pp here, 2026-12-07).
		return synth.Bimodal(1_000_000, [2]int{1, 100}, [2]int{3000, 4500}, 0.8, 13)
	}},
	{name: "tenants", caps: []int{1000, 10000}, gen: func() []uint64 {
		// Zipf 1.0 over 100k keys beside Zipf 1.1 over 30k, whose share
		// swings between 10% and 70% every 100k requests.
		return synth.Tenants(1_000_000, 100_000, 1.0, 30_000, 1.1, 0.1, 0.7, 100_000, 5)
	}},
}

// pickTraces applies -traces, -quick and -trace.
func pickTraces(cfg *config) ([]traceSpec, error) {
	var out []traceSpec
	switch {
	case len(cfg.traces) == 1 && cfg.traces[0] == "all", len(cfg.traces) == 0 && !cfg.quick:
		out = slices.Clone(catalog)
	case len(cfg.traces) == 0:
		for _, s := range catalog {
			if s.quick {
				out = append(out, s)
			}
		}
	default:
		for _, name := range cfg.traces {
			if name == expiringName { // not a trace: see expiring.go
				continue
			}
			i := slices.IndexFunc(catalog, func(s traceSpec) bool { return s.name == name })
			if i < 0 {
				return nil, fmt.Errorf("unknown trace %q", name)
			}
			out = append(out, catalog[i])
		}
	}
	if cfg.userTrace != "" {
		abs, err := filepath.Abs(cfg.userTrace)
		if err != nil {
			return nil, err
		}
		out = append(out, traceSpec{name: filepath.Base(cfg.userTrace), path: abs, format: cfg.userFormat, caps: cfg.userCaps})
	}
	return out, nil
}

// loadedTrace is a decoded trace, shared read-only by the replays.
type loadedTrace struct {
	spec     traceSpec
	keys     []uint64
	sizes    []uint32 // nil unless the format carries sizes
	distinct int
	oracle   *belady.Oracle
}

// loadTraces decodes every trace once, workers at a time, and prepares
// Belady's oracle for each.
func loadTraces(cfg *config, specs []traceSpec) ([]*loadedTrace, error) {
	out := make([]*loadedTrace, len(specs))
	errs := make([]error, len(specs))
	sem := make(chan struct{}, cfg.workers)
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			lt := &loadedTrace{spec: s}
			switch {
			case s.gen != nil:
				lt.keys = s.gen()
			case s.zipfS > 0:
				lt.keys = zipf.Keys(zipf.New(zipfKeys, s.zipfS), zipfRequests, uint64(s.zipfS*1000))
			default:
				path := s.path
				if !filepath.IsAbs(path) {
					path = filepath.Join(cfg.traceDir, path)
				}
				t, err := trace.Load(path, s.format)
				if err != nil {
					errs[i] = err
					return
				}
				lt.keys, lt.sizes = t.Keys, t.Sizes
			}
			lt.oracle = belady.Prepare(lt.keys)
			lt.distinct = lt.oracle.Distinct()
			out[i] = lt
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s traceSpec) label(capacity int) string {
	return s.name + " @ " + strconv.Itoa(capacity)
}
