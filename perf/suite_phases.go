package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
)

// runPhases shows where in a trace each cache wins and loses its hits: each
// unit-weight cell of the selected traces is replayed once by every cache
// (a fresh cache each) and by Belady's optimum, and its hit ratio is given
// per window, the trace cut into -windows equal parts. A whole-trace hit
// ratio hides the phases: on sprite at 1000 entries ufocache trails LRU by
// 3-6 pp in the windows just after the cache fills and by 3.5-5 in the
// last one, and keeps level with it in between. A developer's tool, run
// only when named; one replay per cache, so a cell moves with the hash
// seed.
func runPhases(cfg *config) (*report, error) {
	specs, err := pickTraces(cfg)
	if err != nil {
		return nil, err
	}
	caches := cfg.selected(peers.Bounded)
	traces, err := loadTraces(cfg, specs)
	if err != nil {
		return nil, err
	}
	var jobs []*phaseJob
	for _, j := range hitRatioJobs(traces) {
		if !j.weighted {
			jobs = append(jobs, newPhaseJob(j.lt, j.capacity, cfg.windows))
		}
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no unit-weight cell among the traces selected")
	}
	// As in the hitratio suite, the caches whose policies run on goroutines
	// of their own replay one cell at a time, after the others.
	pooled, alone := splitLagging(caches)
	t0 := time.Now()
	runPool(cfg.workers, jobs, func(j *phaseJob) { j.run(pooled, true) })
	runPool(1, jobs, func(j *phaseJob) { j.run(alone, false) })
	fmt.Fprintf(os.Stderr, "perf: phases: %d cells replayed in %s\n", len(jobs), time.Since(t0).Round(time.Millisecond))

	r := &report{title: "Hit ratio by phase"}
	r.add("Each cell replayed once by each cache (a fresh cache, so its own hash seed), as the hitratio suite replays it, "+
		"and by `%s`; the trace is cut into %d windows of equal length (the last may be shorter; fewer where the trace is too short), "+
		"and each column is the hit ratio (%%) of the requests in that window. "+
		"The last row is ufocache's lead over the best of the other caches in each window "+
		"(any of them, whether or not it held its bound). Command: `%s`.", beladyName, cfg.windows, cfg.command)
	for _, j := range jobs {
		r.add("%s", j.table(caches))
	}
	return r, nil
}

// phaseJob is one cell of the phases suite: hits per window by cache name
// (and beladyName).
type phaseJob struct {
	lt       *loadedTrace
	capacity int
	size     int // requests in each window but the last, which may hold fewer
	windows  int
	hits     map[string][]int
}

// newPhaseJob cuts lt's requests into windows of equal size, the last
// shorter if need be: as many as asked for, or fewer where the trace is
// too short to fill them (105 requests in 100 windows make 53 of 2).
func newPhaseJob(lt *loadedTrace, capacity, windows int) *phaseJob {
	n := len(lt.keys)
	size := max((n+windows-1)/windows, 1)
	return &phaseJob{lt: lt, capacity: capacity, size: size, windows: max((n+size-1)/size, 1), hits: map[string][]int{}}
}

func (j *phaseJob) label() string { return j.lt.spec.label(j.capacity) }

// run replays the cell with each of caches, and with Belady's optimum if
// belady is set.
func (j *phaseJob) run(caches []string, belady bool) {
	count := func() ([]int, func(int)) {
		hits := make([]int, j.windows)
		return hits, func(i int) { hits[i/j.size]++ }
	}
	if belady {
		hits, hit := count()
		j.lt.oracle.ReplayEach(j.capacity, hit)
		j.hits[beladyName] = hits
	}
	for _, name := range caches {
		hits, hit := count()
		c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(j.capacity), Sync: true})
		replay(c, j.lt.keys, j.capacity, hit)
		c.Close()
		j.hits[name] = hits
	}
}

// ratios returns name's hit ratio (%) in each window, and over the whole
// trace.
func (j *phaseJob) ratios(name string) (per []float64, whole float64) {
	n, w := len(j.lt.keys), j.size
	total := 0
	for k, h := range j.hits[name] {
		per = append(per, 100*float64(h)/float64(min(w, n-k*w)))
		total += h
	}
	return per, 100 * float64(total) / float64(n)
}

// table renders the cell: a row per cache, Belady's, and ufocache's lead
// over the best other cache in each window.
func (j *phaseJob) table(caches []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n| cache |", j.label())
	for k := range j.windows {
		fmt.Fprintf(&b, " %d |", k+1)
	}
	b.WriteString(" whole |\n| --- |" + strings.Repeat(" ---: |", j.windows+1) + "\n")
	row := func(name string, signed bool, per []float64, whole float64) {
		perFmt, wholeFmt := " %.1f |", " %.2f |\n"
		if signed {
			perFmt, wholeFmt = " %+.1f |", " %+.2f |\n"
		}
		fmt.Fprintf(&b, "| %s |", name)
		for _, x := range per {
			fmt.Fprintf(&b, perFmt, x)
		}
		fmt.Fprintf(&b, wholeFmt, whole)
	}
	var best []float64
	bestWhole := -1.0
	for _, name := range append(slices.Clone(caches), beladyName) {
		if j.hits[name] == nil {
			continue
		}
		per, whole := j.ratios(name)
		row(name, false, per, whole)
		if name == peers.Ufocache || name == beladyName {
			continue
		}
		if best == nil {
			best = slices.Clone(per)
		}
		for k, x := range per {
			best[k] = max(best[k], x)
		}
		bestWhole = max(bestWhole, whole)
	}
	if ufo := j.hits[peers.Ufocache]; ufo != nil && best != nil {
		per, whole := j.ratios(peers.Ufocache)
		for k := range per {
			per[k] -= best[k]
		}
		row("ufocache − best other", true, per, whole-bestWhole)
	}
	return b.String()
}
