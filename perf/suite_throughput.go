package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"

	"github.com/ufocache/ufocache/perf/peers"
)

// tpConfig is one throughput configuration of the design brief.
type tpConfig struct {
	name  string
	load  workload
	mixes []int // read percentages
	ops   int   // length of the operation stream
}

func throughputConfigs(quick bool) []tpConfig {
	if quick {
		return []tpConfig{
			{"hit path", workload{keys: 1024, capacity: 4096, s: 1.01}, []int{100}, 1 << 14},
			{"memory-bound", workload{keys: 50_000, capacity: 4096, s: 1.01}, []int{100, 75, 50, 25, 0}, 1 << 15},
		}
	}
	return []tpConfig{
		// (a) every key resident: the cost of a hit.
		{"hit path", workload{keys: 16_384, capacity: 65_536, s: 1.01}, []int{100}, 1 << 20},
		// (b) 1M keys, 64Ki entries: misses, evictions, cold cache lines.
		{"memory-bound", workload{keys: 1_000_000, capacity: 65_536, s: 1.01}, []int{100, 75, 50, 25, 0}, 1 << 21},
	}
}

// tpKey names one median: configuration, read percentage, GOMAXPROCS.
type tpKey struct {
	config    string
	mix, cpus int
}

func runThroughput(cfg *config) (*report, error) {
	caches := cfg.selected(peers.All())
	if len(caches) == 0 {
		return nil, fmt.Errorf("no cache selected")
	}
	medians := map[tpKey]map[string]float64{}
	unstored := map[tpKey]map[string]float64{} // share of Sets that stored nothing, over the runs
	configs := throughputConfigs(cfg.quick)
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	for _, tc := range configs {
		for _, mix := range tc.mixes {
			ops := tc.load.opStream(tc.ops, mix, 42)
			for _, p := range cfg.cpus {
				runtime.GOMAXPROCS(p)
				m, u := tpCell(caches, cfg.reps, func(name string) (float64, int64, int64) {
					c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(tc.load.capacity)})
					defer c.Close()
					tc.load.prefill(c)
					return drive(c, ops, p, cfg.duration)
				})
				runtime.GOMAXPROCS(prev)
				medians[tpKey{tc.name, mix, p}] = m
				if mix < 100 {
					unstored[tpKey{tc.name, mix, p}] = u
				}
				if !cfg.quick {
					fmt.Fprintf(os.Stderr, "perf: throughput: %s, %d%% reads, GOMAXPROCS=%d done\n", tc.name, mix, p)
				}
			}
		}
	}
	return throughputReport(cfg, configs, caches, medians, unstored), nil
}

// tpCell measures one cell of the throughput tables (a configuration, a
// mix, a GOMAXPROCS): run measures one cache once, on a fresh cache, and
// returns what drive does. The caches are interleaved, every cache once per
// repetition, so that a change of the machine during the cell (another
// process's load coming or going) reaches some runs of every cache rather
// than all the runs of the caches measured last; and each repetition
// starts one cache further on, so that no cache is always measured first
// or last. It returns each cache's median operations per second over its
// repetitions, and the share of its Sets that stored nothing over all its
// runs together.
func tpCell(caches []string, reps int, run func(name string) (opsPerSec float64, sets, unstored int64)) (medians, unstoredShare map[string]float64) {
	samples := map[string][]float64{}
	sets, unstoredSets := map[string]int64{}, map[string]int64{} // over the runs
	for rep := range reps {
		for i := range caches {
			name := caches[(i+rep)%len(caches)]
			perSec, w, u := run(name)
			samples[name] = append(samples[name], perSec)
			sets[name] += w
			unstoredSets[name] += u
		}
	}
	medians, unstoredShare = map[string]float64{}, map[string]float64{}
	for name, xs := range samples {
		medians[name] = median(xs)
	}
	for name, w := range sets {
		unstoredShare[name] = float64(unstoredSets[name]) / float64(max(w, 1))
	}
	return medians, unstoredShare
}

func throughputReport(cfg *config, configs []tpConfig, caches []string, medians, unstored map[tpKey]map[string]float64) *report {
	r := &report{title: "Throughput"}
	r.add("Operations per second (millions, all goroutines together), median of %d runs of %s each; one goroutine per P. "+
		"Each run builds a fresh cache, prefills it with the hottest keys (up to its capacity), and has every goroutine walk a "+
		"precomputed Zipf operation stream from its own offset: no random numbers inside the timed loop. "+
		"Caches are interleaved (A, B, C, then again), not run back to back. Writes are Set of a key from the same stream; "+
		"a Set that stores nothing (it returned false, as ristretto's does when its buffer drops the write) "+
		"counts as an operation too, and the share of such Sets follows each configuration's tables. "+
		"xsync-mapof and sync-map are unbounded maps: ceilings, with no eviction.",
		cfg.reps, cfg.duration)
	maxCPU := slices.Max(cfg.cpus)
	for _, tc := range configs {
		r.add("## %s: Zipf s=%.2f over %d keys, capacity %d", tc.name, tc.load.s, tc.load.keys, tc.load.capacity)
		for _, p := range cfg.cpus {
			head := []string{"cache"}
			for _, mix := range tc.mixes {
				head = append(head, strconv.Itoa(mix)+"% reads")
			}
			t := newTable(head...)
			rt := newTable(head...)
			for _, name := range caches {
				row, rrow := []string{name}, []string{name}
				for _, mix := range tc.mixes {
					m := medians[tpKey{tc.name, mix, p}]
					row = append(row, mops(m[name]))
					rrow = append(rrow, ratio(m[name], m[peers.XsyncMapOf])+" / "+ratio(m[name], m[peers.OtterV2]))
				}
				t.row(row...)
				rt.row(rrow...)
			}
			r.add("### GOMAXPROCS=%d: Mops/s\n\n%s", p, t)
			r.add("### GOMAXPROCS=%d: ratio to xsync-mapof / to otter-v2\n\n%s", p, rt)
		}
		if mixes := slices.DeleteFunc(slices.Clone(tc.mixes), func(m int) bool { return m == 100 }); len(mixes) > 0 {
			head := []string{"cache"}
			for _, mix := range mixes {
				head = append(head, strconv.Itoa(mix)+"% reads")
			}
			t := newTable(head...)
			for _, name := range caches {
				row := []string{name}
				for _, mix := range mixes {
					row = append(row, fmt.Sprintf("%.1f", 100*unstored[tpKey{tc.name, mix, maxCPU}][name]))
				}
				t.row(row...)
			}
			r.add("### GOMAXPROCS=%d: Sets that stored nothing (%% of Sets, over all runs)\n\n%s", maxCPU, t)
		}
		if len(tc.mixes) > 1 {
			for _, p := range cfg.cpus {
				c := chart{
					title:  fmt.Sprintf("Throughput vs read share: %s, GOMAXPROCS=%d", tc.name, p),
					file:   fmt.Sprintf("throughput-mix-cpu%d.svg", p),
					xLabel: "reads (%)", yLabel: "Mops/s",
				}
				for _, name := range caches {
					for _, mix := range tc.mixes {
						c.add(name, float64(mix), medians[tpKey{tc.name, mix, p}][name]/1e6)
					}
				}
				r.charts = append(r.charts, c)
			}
		}
	}
	if len(cfg.cpus) > 1 {
		for _, tc := range configs {
			c := chart{
				title:  fmt.Sprintf("Throughput vs GOMAXPROCS: %s, %d%% reads", tc.name, tc.mixes[0]),
				file:   "throughput-cpu-" + slug(tc.name) + ".svg",
				xLabel: "GOMAXPROCS", yLabel: "Mops/s",
			}
			for _, name := range caches {
				for _, p := range cfg.cpus {
					c.add(name, float64(p), medians[tpKey{tc.name, tc.mixes[0], p}][name]/1e6)
				}
			}
			r.charts = append(r.charts, c)
		}
	}
	// Headline: the largest GOMAXPROCS.
	h := newTable("configuration (GOMAXPROCS=" + strconv.Itoa(maxCPU) + ")")
	h.head = append(h.head, caches...)
	for _, tc := range configs {
		for _, mix := range tc.mixes {
			m := medians[tpKey{tc.name, mix, maxCPU}]
			row := []string{fmt.Sprintf("%s, %d%% reads", tc.name, mix)}
			for _, name := range caches {
				row = append(row, mops(m[name]))
			}
			h.row(row...)
		}
	}
	h.note("Mops/s, median of %d × %s.", cfg.reps, cfg.duration)
	if slices.Contains(caches, peers.Ufocache) {
		for _, tc := range configs {
			var parts []string
			for _, mix := range tc.mixes {
				m := medians[tpKey{tc.name, mix, maxCPU}]
				parts = append(parts, fmt.Sprintf("%d%%: %s of xsync-mapof, %s of otter-v2", mix,
					ratio(m[peers.Ufocache], m[peers.XsyncMapOf]), ratio(m[peers.Ufocache], m[peers.OtterV2])))
			}
			h.note("ufocache, %s: %s.", tc.name, joinSemi(parts))
		}
	}
	r.headline = []string{h.String()}
	return r
}

func joinSemi(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}

func slug(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ' ' {
			b[i] = '-'
		}
	}
	return string(b)
}
