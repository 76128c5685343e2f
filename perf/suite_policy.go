package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/ufocache/ufocache/perf/peers"
)

// runPolicy is the policy developer's loop: ufocache alone, each cell
// replayed -runs times (each cache draws its own hash seed, which moves a
// cell by a few tenths), against the peers' published numbers in
// peers_hitratio.tsv instead of replaying them. A full policy suite takes
// about a third of the hitratio suite's time per run; use the hitratio
// suite for results that go in the README.
func runPolicy(cfg *config) (*report, error) {
	specs, err := pickTraces(cfg)
	if err != nil {
		return nil, err
	}
	// The synthetic workloads have no published peers to compare with:
	// replayed only when named.
	specs = slices.DeleteFunc(specs, func(s traceSpec) bool {
		return s.synthetic() && !slices.Contains(cfg.traces, s.name)
	})
	if len(specs) == 0 && slices.Contains(cfg.traces, expiringName) {
		return nil, fmt.Errorf("the %s workloads are replayed by the hitratio suite only (-suite hitratio -traces %s)", expiringName, expiringName)
	}
	pub, err := readPublished(cfg.traceDir)
	if err != nil {
		return nil, err
	}
	traces, err := loadTraces(cfg, specs)
	if err != nil {
		return nil, err
	}
	type run struct {
		job *hrJob
		res replayResult
	}
	jobs := hitRatioJobs(traces)
	var runs []*run
	for _, j := range jobs {
		for range cfg.runs {
			runs = append(runs, &run{job: j})
		}
	}
	order := slices.Clone(runs)
	slices.SortStableFunc(order, func(a, b *run) int {
		return cmp.Compare(len(b.job.lt.keys), len(a.job.lt.keys))
	})
	// Belady on this harness's trace, per plain cell: a published row is
	// only comparable if its Belady is the same (to the file's four
	// decimals), i.e. the peers were measured on the same requests.
	var plain []*hrJob
	for _, j := range jobs {
		if !j.weighted {
			plain = append(plain, j)
		}
	}
	here := make(map[*hrJob]float64, len(plain))
	var hereMu sync.Mutex
	runPool(cfg.workers, plain, func(j *hrJob) {
		v := 100 * j.lt.oracle.Replay(j.capacity).Ratio()
		hereMu.Lock()
		here[j] = v
		hereMu.Unlock()
	})
	runPool(cfg.workers, order, func(r *run) {
		j := r.job
		if j.weighted {
			c := peers.MustNew[uint64, uint32](peers.Ufocache, peers.Config[uint32]{
				Capacity: int64(j.capacity),
				Weigher:  func(v uint32) uint32 { return v },
				Entries:  int64(j.entries),
			})
			r.res = replayWeighted(c, j.lt.keys, j.lt.sizes, j.capacity)
			return
		}
		c := peers.MustNew[uint64, uint64](peers.Ufocache, peers.Config[uint64]{Capacity: int64(j.capacity)})
		r.res = replay(c, j.lt.keys, j.capacity, nil)
	})

	rep := &report{title: "Policy: ufocache against the published peers"}
	rep.add("ufocache replayed %d times per cell (own hash seed each); peers and Belady from peers_hitratio.tsv "+
		"(taken with otter v2's default asynchronous maintenance, which the hitratio suite no longer uses: "+
		"its verdicts can differ where otter v2 held more than its bound). "+
		"The best peer is the best that kept its bound (mean occupancy within 10%%) and stayed at or below Belady.", cfg.runs)
	t := newTable("trace @ capacity", "ufocache mean", "min", "max", "best kept peer", "Δ (pp)", "belady")
	bt := newTable("trace @ MiB", "ufocache byte hit ratio (mean)", "min", "max")
	peerNames := slices.DeleteFunc(slices.Clone(peers.Bounded), func(n string) bool { return n == peers.Ufocache })
	sums := map[string]float64{}
	gaps := map[string]float64{}
	var cells, below, otherTrace int
	var shortfall float64
	for _, j := range jobs {
		var vals []float64
		for _, r := range runs {
			if r.job == j {
				if j.weighted {
					vals = append(vals, 100*r.res.byteRatio())
				} else {
					vals = append(vals, 100*r.res.ratio())
				}
			}
		}
		mean := 0.0
		for _, v := range vals {
			mean += v
		}
		mean /= float64(len(vals))
		lo, hi := slices.Min(vals), slices.Max(vals)
		if j.weighted {
			bt.row(j.label(), fmt.Sprintf("%.2f", mean), fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi))
			continue
		}
		name, capacity := j.lt.spec.name, j.capacity
		opt, ok := pub[cellKey{name, capacity, beladyName}]
		if !ok {
			t.row(j.label(), fmt.Sprintf("%.2f", mean), fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi), "n/a", "", "")
			continue
		}
		if math.Abs(here[j]-opt.hit) > 1e-4 {
			otherTrace++
			t.row(j.label(), fmt.Sprintf("%.2f", mean), fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi),
				fmt.Sprintf("published on another trace (Belady %.4f here, %.4f published)", here[j], opt.hit), "", fmt.Sprintf("%.2f", here[j]))
			continue
		}
		best, bestName := math.Inf(-1), ""
		for _, p := range peerNames {
			c, ok := pub[cellKey{name, capacity, p}]
			if !ok {
				continue
			}
			sums[p] += c.hit
			gaps[p] += opt.hit - c.hit
			if c.occupancy > 1.1*float64(capacity) || c.hit > opt.hit+1e-9 {
				continue
			}
			if c.hit > best {
				best, bestName = c.hit, p
			}
		}
		cells++
		sums[peers.Ufocache] += mean
		gaps[peers.Ufocache] += opt.hit - mean
		d := mean - best
		if d < -0.5 {
			below++
		}
		if d < 0 {
			shortfall -= d
		}
		t.row(j.label(), fmt.Sprintf("%.2f", mean), fmt.Sprintf("%.2f", lo), fmt.Sprintf("%.2f", hi),
			fmt.Sprintf("%.2f %s", best, bestName), fmt.Sprintf("%+.2f", d), fmt.Sprintf("%.2f", opt.hit))
	}
	if cells == 0 {
		return nil, fmt.Errorf("no cell of the chosen traces is in peers_hitratio.tsv on the same trace (%d published on another)", otherTrace)
	}
	st := newTable("cache", "mean hit ratio (%)", "mean gap to Belady (pp)")
	for _, n := range append([]string{peers.Ufocache}, peerNames...) {
		st.row(n, fmt.Sprintf("%.2f", sums[n]/float64(cells)), fmt.Sprintf("%.2f", gaps[n]/float64(cells)))
	}
	rep.add("## Summary over %d cells\n\n%s\nufocache is more than 0.5 pp below the best kept peer in %s cells; "+
		"its shortfall summed over the cells where it trails is %.2f pp.", cells, st.String(), strconv.Itoa(below), shortfall)
	if otherTrace > 0 {
		rep.add("%d cells left out: their published Belady differs from Belady on this harness's trace, so the peers were "+
			"measured on another request stream (the Zipf rows of peers_hitratio.tsv).", otherTrace)
	}
	rep.headline = []string{fmt.Sprintf("mean %.2f, gap %.2f, %d cells > 0.5 pp below, shortfall %.2f pp",
		sums[peers.Ufocache]/float64(cells), gaps[peers.Ufocache]/float64(cells), below, shortfall)}
	rep.add("## Cells\n\n%s", t.String())
	if len(bt.rows) > 0 {
		rep.add("## Byte hit ratio (weighted by object size)\n\n%s", bt.String())
	}
	fmt.Fprintf(os.Stderr, "perf: policy: %s\n", rep.headline[0])
	return rep, nil
}
