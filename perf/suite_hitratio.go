package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
)

const beladyName = "belady-opt"

// hrJob is one (trace, capacity) cell, replayed by every cache in turn.
type hrJob struct {
	lt       *loadedTrace
	capacity int
	weighted bool // byte hit ratio: capacity is in bytes
	entries  int  // weighted: the entry capacity the byte capacity stands for
	results  map[string]replayResult
}

func runHitRatio(cfg *config) (*report, error) {
	specs, err := pickTraces(cfg)
	if err != nil {
		return nil, err
	}
	caches := cfg.selected(peers.Bounded)
	t0 := time.Now()
	traces, err := loadTraces(cfg, specs)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "perf: hitratio: %d traces decoded in %s\n", len(traces), time.Since(t0).Round(time.Millisecond))

	jobs := hitRatioJobs(traces)
	// Longest first, so that the pool does not end on one big replay.
	order := slices.Clone(jobs)
	slices.SortStableFunc(order, func(a, b *hrJob) int {
		return cmp.Or(cmp.Compare(len(b.lt.keys), len(a.lt.keys)), cmp.Compare(b.capacity, a.capacity))
	})
	// The caches whose policy goroutines still run on their own when
	// driven synchronously replay alone, after the others.
	pooled, alone := splitLagging(caches)
	runPool(cfg.workers, order, func(j *hrJob) {
		t := time.Now()
		j.run(pooled, cfg.runs)
		if !cfg.quick {
			fmt.Fprintf(os.Stderr, "perf: hitratio: %s done in %s\n", j.label(), time.Since(t).Round(time.Millisecond))
		}
	})
	if len(alone) > 0 {
		t := time.Now()
		runPool(1, order, func(j *hrJob) { j.run(alone, cfg.runs) })
		fmt.Fprintf(os.Stderr, "perf: hitratio: %v replayed alone in %s\n", alone, time.Since(t).Round(time.Millisecond))
	}

	r := &report{title: "Hit ratio"}
	r.add("Single-threaded replay of each trace: Get, and on a miss Set. %s"+
		"Hit ratio in percent: the mean of %s, each with a fresh cache and so its own hash seed where the cache draws one "+
		"(one replay's cell can move by a point or more with the seed; see the spread below). "+
		"`%s` is Belady's optimum with bypass (on a miss, store the key only if its next use is sooner "+
		"than the farthest next use among the residents), the ceiling for any cache that may decline an insert. "+
		"%d (trace, capacity) cells replayed by %d workers%s.", replayModes(caches), plural(cfg.runs, "replay"), beladyName, len(jobs), cfg.workers, aloneNote(alone))
	var plain, weighted, synthetic []*hrJob
	for _, j := range jobs {
		switch {
		case j.weighted:
			weighted = append(weighted, j)
		case j.lt.spec.synthetic():
			synthetic = append(synthetic, j)
		default:
			plain = append(plain, j)
		}
	}
	all := append(slices.Clone(plain), synthetic...)
	var headline []string
	if len(plain) > 0 {
		var summary string
		summary, headline = hitRatioSummary(plain, caches)
		r.add("## Summary\n\n%s", summary)
		if slices.Contains(caches, peers.Ufocache) {
			pairs := pairwiseTable(plain, caches)
			headline = append(headline, "", pairs)
			r.add("## Pairwise, over the cells where the peer kept its bound\n\nThe means of all cells above count a peer's marked cells too, "+
				"where it held more than its bound (*) or, doing so, beat Belady's optimum for the bound (†).\n\n%s", pairs)
		}
		// Every cell, folded: the target is per cell, and a reader of the
		// README should not need the report to check it.
		headline = append(headline, "", "<details><summary>Every cell of the target set</summary>", "", summary, "", "</details>")
	}
	if len(synthetic) > 0 {
		table, synthHead := hitRatioSummary(synthetic, caches)
		r.add("## Synthetic workloads\n\n%s\n\n%s", synthNote, table)
		headline = append(headline, "", "Synthetic workloads (perf/synth), outside the target set above:", "")
		headline = append(headline, synthHead...)
	}
	r.headline = headline
	if slices.Contains(caches, peers.Ufocache) {
		r.add("## Where ufocache trails a peer that held more than its bound\n\n%s", sameRoom(all, caches, cfg.workers, cfg.runs))
	}
	if cfg.runs > 1 {
		r.add("## Run-to-run spread\n\nThe widest range (highest minus lowest hit ratio, byte hit ratio in weighted cells) among one cache's %d replays of a cell, "+
			"and the mean range over all cells: how far a single replay can stray from the mean the tables show.\n\n%s", cfg.runs, spreadTable(jobs, caches))
	}
	r.add("## Occupancy once full\n\nMean / highest Len() sampled every %d requests once the cache had been offered as many misses as its bound; "+
		"`n/a` where the cache cannot report it or never filled.\n\n%s", sampleEvery, occupancyTable(all, caches))
	if len(weighted) > 0 {
		r.add("## Byte hit ratio\n\n%s", byteTable(weighted, caches))
	}
	if expiringWanted(cfg) {
		t := time.Now()
		if intro, table := runExpiring(cfg, caches); table != "" {
			r.add("## Expiring keys\n\n%s\n\n%s", intro, table)
			r.headline = append(r.headline, "", "Expiring keys (a TTL per entry, on a virtual clock; perf/expiring.go), outside the target set:", "", table)
			fmt.Fprintf(os.Stderr, "perf: hitratio: %s done in %s\n", expiringName, time.Since(t).Round(time.Millisecond))
		}
	}
	if len(plain) > 0 {
		if check, err := comparePeers(cfg.traceDir, plain); err != nil {
			r.add("## Check against peers_hitratio.tsv\n\nnot run: %v", err)
		} else {
			r.add("## Check against peers_hitratio.tsv\n\n%s", check)
		}
	}
	r.charts = hitRatioCharts(traces, all, caches)
	return r, nil
}

func (j *hrJob) label() string {
	if j.weighted {
		return fmt.Sprintf("%s @ %d MiB (≈ %d entries)", j.lt.spec.name, j.capacity>>20, j.entries)
	}
	return j.lt.spec.label(j.capacity)
}

// run replays the cell with each cache runs times, each replay with a
// fresh cache (and so its own hash seed, for the caches that draw one),
// pooling the replays (replayResult.merge); Belady once.
func (j *hrJob) run(caches []string, runs int) {
	if j.results == nil {
		j.results = map[string]replayResult{}
	}
	if j.weighted {
		for _, name := range caches {
			if !slices.Contains(peers.Weighted, name) {
				continue
			}
			j.results[name] = replays(runs, func() replayResult {
				c := peers.MustNew[uint64, uint32](name, peers.Config[uint32]{
					Capacity: int64(j.capacity),
					Weigher:  func(v uint32) uint32 { return v },
					Entries:  int64(j.entries),
					Sync:     true,
				})
				defer c.Close()
				return replayWeighted(c, j.lt.keys, j.lt.sizes, j.capacity)
			})
		}
		return
	}
	if _, ok := j.results[beladyName]; !ok {
		b := j.lt.oracle.Replay(j.capacity)
		j.results[beladyName] = replayResult{requests: b.Requests, hits: b.Hits}
	}
	for _, name := range caches {
		j.results[name] = replays(runs, func() replayResult {
			c := peers.MustNew[uint64, uint64](name, peers.Config[uint64]{Capacity: int64(j.capacity), Sync: true})
			defer c.Close()
			return replay(c, j.lt.keys, j.capacity, nil)
		})
	}
}

// replayModes says how the selected caches that keep work for later are
// driven in a replay, naming only those in caches.
func replayModes(caches []string) string {
	var out []string
	if slices.Contains(caches, peers.OtterV2) {
		out = append(out, peers.OtterV2+" runs its maintenance on the replaying goroutine (an Executor that runs each task at once), "+
			"as otter's own hit-ratio simulator drives it, and so holds its bound whatever the machine's load "+
			"(testdata/traces's published peer numbers were taken with its default asynchronous maintenance, which lagged and held more)")
	}
	if waited := among(caches, peers.ReplayWaited); len(waited) > 0 {
		out = append(out, andList(waited)+" "+verb(len(waited), "applies its Sets", "apply their Sets")+" later, and "+
			verb(len(waited), "is", "are")+" waited for after each Set")
	}
	if slices.Contains(caches, peers.Theine) {
		out = append(out, peers.Theine+" runs as configured by default: waited for after each Set, it kept its bound "+
			"but lost more hits than the room it overruns by explains (see peers.Synchronous)")
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "; ") + ". "
}

// among returns the caches that are in list, in the order of caches.
func among(caches, list []string) []string {
	return slices.DeleteFunc(slices.Clone(caches), func(n string) bool { return !slices.Contains(list, n) })
}

// aloneNote says which of the selected caches replayed alone, if any.
func aloneNote(alone []string) string {
	if len(alone) == 0 {
		return ""
	}
	return "; " + andList(alone) + ", " + verb(len(alone), "whose policy still runs on a goroutine of its own",
		"whose policies still run on goroutines of their own") + " " +
		"(which drop reads or evict late when they lag, by an amount that moves with the machine's load), " +
		"replayed one cell at a time after the others"
}

// andList joins names as "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// lagging lists the caches whose replays depend on the machine's load.
func lagging() []string {
	return slices.DeleteFunc(slices.Clone(peers.Background), func(n string) bool { return slices.Contains(peers.Synchronous, n) })
}

// splitLagging parts caches, in their order, into those a pool of workers
// may replay side by side and the lagging ones, which replay one cell at
// a time.
func splitLagging(caches []string) (pooled, alone []string) {
	for _, name := range caches {
		if slices.Contains(lagging(), name) {
			alone = append(alone, name)
		} else {
			pooled = append(pooled, name)
		}
	}
	return pooled, alone
}

// hitRatioJobs lists every (trace, capacity) cell, and for a trace with
// object sizes the byte-weighted cells too.
func hitRatioJobs(traces []*loadedTrace) []*hrJob {
	var jobs []*hrJob
	for _, lt := range traces {
		for _, c := range lt.spec.caps {
			jobs = append(jobs, &hrJob{lt: lt, capacity: c})
		}
		if lt.sizes != nil {
			mean := meanDistinctSize(lt)
			for _, c := range lt.spec.caps {
				jobs = append(jobs, &hrJob{lt: lt, capacity: c * mean, weighted: true, entries: c})
			}
		}
	}
	return jobs
}

// runPool runs f on every item with n goroutines.
func runPool[T any](n int, items []T, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for it := range ch {
				f(it)
			}
		})
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// meanDistinctSize is the mean size of the trace's distinct objects (their
// first size seen), rounded up to a KiB; byte capacities are the entry
// capacities times it.
func meanDistinctSize(lt *loadedTrace) int {
	seen := make(map[uint64]struct{}, lt.distinct)
	var sum uint64
	for i, k := range lt.keys {
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			sum += uint64(lt.sizes[i])
		}
	}
	mean := int(sum / uint64(max(len(seen), 1)))
	return (mean + 1023) &^ 1023
}

func hitRatioSummary(jobs []*hrJob, caches []string) (string, []string) {
	cols := append(slices.Clone(caches), beladyName)
	head := append([]string{"trace @ capacity"}, cols...)
	hasUfo := slices.Contains(caches, peers.Ufocache)
	if hasUfo {
		head = append(head, "ufocache − best peer (pp)")
	}
	t := newTable(head...)
	sums := map[string]float64{}
	gaps := map[string]float64{}
	worst, compared := 0.0, 0 // compared: cells with a peer to compare
	var below []string        // the cells more than 0.5 pp below, with their gaps
	worstCell := ""
	for _, j := range jobs {
		row := []string{j.label()}
		opt := j.results[beladyName].ratio()
		for _, name := range cols {
			res := j.results[name]
			cell := pct(res.ratio())
			if res.overBound(j.capacity) {
				cell += "*"
			}
			if name != beladyName && res.aboveOptimum(j.results[beladyName]) {
				cell += "†"
			}
			row = append(row, cell)
			sums[name] += res.ratio()
			gaps[name] += opt - res.ratio()
		}
		if hasUfo {
			best, ok := bestPeer(j, caches)
			if !ok { // no peer ran, or every one is marked
				row = append(row, "–")
				t.row(row...)
				continue
			}
			d := 100 * (j.results[peers.Ufocache].ratio() - best)
			compared++
			if d < -0.5 {
				// Bold, and named in the headline to three decimals: a
				// cell at -0.504 and one at -0.496 both show -0.50.
				row = append(row, fmt.Sprintf("**%+.2f**", d))
				below = append(below, fmt.Sprintf("%s %+.3f", j.label(), d))
			} else {
				row = append(row, fmt.Sprintf("%+.2f", d))
			}
			if d < worst || worstCell == "" {
				worst, worstCell = d, j.label()
			}
		}
		t.row(row...)
	}
	n := float64(len(jobs))
	mean := []string{"**mean of all cells**"}
	gap := []string{"**mean gap to Belady (pp)**"}
	for _, name := range cols {
		mean = append(mean, pct(sums[name]/n))
		gap = append(gap, fmt.Sprintf("%.2f", 100*gaps[name]/n))
	}
	if hasUfo {
		mean, gap = append(mean, ""), append(gap, "")
	}
	t.row(mean...)
	t.row(gap...)
	t.note("`*`: the cache held on average more than 10%% above its bound once full, which flatters its hit ratio. " +
		"`†`: above Belady's optimum for the bound, which only a cache holding more than its bound can reach. " +
		"\"Best peer\" is the best peer with neither mark in that cell.")
	headline := []string{"| cache | mean hit ratio (%) | mean gap to Belady (pp) |", "|---|---:|---:|"}
	for _, name := range cols {
		headline = append(headline, fmt.Sprintf("| %s | %s | %.2f |", name, pct(sums[name]/n), 100*gaps[name]/n))
	}
	if hasUfo && worstCell != "" {
		cells := ""
		if len(below) > 0 {
			cells = " (" + strings.Join(below, ", ") + ")"
		}
		headline = append(headline, "", fmt.Sprintf("ufocache is more than 0.5 pp below the best peer in %d of %d cells%s; its worst cell is %s (%+.2f pp).",
			len(below), compared, cells, worstCell, worst))
	}
	return t.String(), headline
}

// synthNote introduces the synthetic workloads' table.
const synthNote = "Generated streams of known structure (package `synth`; parameters in `catalog.go`): popularity that shifts to new keys, " +
	"scans of new keys through a Zipf hot set, a loop beside a Zipf hot set, the LRU stack model (pure recency), two tenants whose shares swing, " +
	"a table of sessions that open, ask a few dozen times and end for good (sticky sessions: the 700 open at once fit in every capacity measured), " +
	"keys that enter as the hottest and sink a rank every 20 requests (fade), and keys that come back either soon or after 3000-4500 requests (bimodal). " +
	"They were added after the policy was tuned on the target set, to measure it on traffic no bundled trace was recorded from; " +
	"they are not part of the target set's summary above."

// pairwiseTable compares ufocache with each peer over the cells where that
// peer kept its bound and stayed at or below Belady (no mark in the
// table): the means of all cells count a peer's flattered cells too.
func pairwiseTable(jobs []*hrJob, caches []string) string {
	t := newTable("peer", "cells where it kept its bound, at or below Belady", "its mean there (%)", "ufocache's mean there (%)", "ufocache − peer (pp)")
	for _, name := range caches {
		if name == peers.Ufocache {
			continue
		}
		var n int
		var sumPeer, sumUfo float64
		for _, j := range jobs {
			if res := j.results[name]; !res.flagged(j.capacity, j.results[beladyName]) {
				n++
				sumPeer += res.ratio()
				sumUfo += j.results[peers.Ufocache].ratio()
			}
		}
		if n == 0 {
			t.row(name, "0", "", "", "")
			continue
		}
		t.row(name, fmt.Sprintf("%d of %d", n, len(jobs)), pct(sumPeer/float64(n)), pct(sumUfo/float64(n)),
			fmt.Sprintf("%+.2f", 100*(sumUfo-sumPeer)/float64(n)))
	}
	return t.String()
}

// bestPeer is the best hit ratio among the peers (not ufocache, not
// Belady) that kept their bound in j and did not beat the optimum.
func bestPeer(j *hrJob, caches []string) (float64, bool) {
	best := math.Inf(-1)
	for _, name := range caches {
		if name == peers.Ufocache {
			continue
		}
		if res := j.results[name]; !res.flagged(j.capacity, j.results[beladyName]) {
			best = max(best, res.ratio())
		}
	}
	return best, !math.IsInf(best, -1)
}

func occupancyTable(jobs []*hrJob, caches []string) string {
	t := newTable(append([]string{"trace @ capacity"}, caches...)...)
	for _, j := range jobs {
		row := []string{j.label()}
		for _, name := range caches {
			res := j.results[name]
			if res.samples == 0 {
				row = append(row, "n/a")
				continue
			}
			cell := fmt.Sprintf("%.0f / %d", res.meanOcc(), res.highOcc)
			if res.overBound(j.capacity) {
				cell = "**" + cell + "**"
			}
			row = append(row, cell)
		}
		t.row(row...)
	}
	t.note("Bold: mean more than 10%% above the bound.")
	return t.String()
}

func byteTable(jobs []*hrJob, caches []string) string {
	var cols []string
	for _, c := range caches {
		if slices.Contains(peers.Weighted, c) {
			cols = append(cols, c)
		}
	}
	t := newTable(append([]string{"trace @ bytes"}, cols...)...)
	occ := newTable(append([]string{"trace @ bytes"}, cols...)...)
	for _, j := range jobs {
		row, orow := []string{j.label()}, []string{j.label()}
		for _, name := range cols {
			res := j.results[name]
			cell := fmt.Sprintf("%s (%s)", pct(res.byteRatio()), pct(res.ratio()))
			ocell := "n/a"
			if res.samples > 0 {
				ocell = fmt.Sprintf("%.1f / %.1f", 100*res.meanOcc()/float64(j.capacity), 100*float64(res.highOcc)/float64(j.capacity))
			}
			if res.overBound(j.capacity) {
				cell += "*"
				ocell = "**" + ocell + "**"
			}
			row, orow = append(row, cell), append(orow, ocell)
		}
		t.row(row...)
		occ.row(orow...)
	}
	t.note("Each entry weighs its object's size; the bound is in bytes: the entry capacity times the mean size of the trace's " +
		"distinct objects. Cells: byte hit ratio (object hit ratio), percent; `*`: the cache held on average more than 10%% " +
		"above its bound once full, which flatters it. No Belady here: with sizes the optimum is NP-hard.")
	occ.note("Weight held, as a percent of the bound: mean / highest, sampled every %d requests once the misses "+
		"had offered the bound's worth of weight (bold: mean more than 10%% above the bound).", weightSampleEvery)
	return t.String() + "\n\n" + occ.String()
}

func hitRatioCharts(traces []*loadedTrace, jobs []*hrJob, caches []string) []chart {
	var out []chart
	for _, lt := range traces {
		c := chart{
			title:  "Hit ratio: " + lt.spec.name,
			file:   "hitratio-" + lt.spec.name + ".svg",
			xLabel: "capacity (entries)",
			yLabel: "hit ratio (%)",
			logX:   true,
		}
		for _, j := range jobs {
			if j.lt != lt {
				continue
			}
			for _, name := range append(slices.Clone(caches), beladyName) {
				c.add(name, float64(j.capacity), 100*j.results[name].ratio())
			}
		}
		out = append(out, c)
	}
	return out
}

// bestPeerName is bestPeer's cache, "" if no peer qualifies.
func bestPeerName(j *hrJob, caches []string) string {
	best, name := math.Inf(-1), ""
	for _, c := range caches {
		if c == peers.Ufocache {
			continue
		}
		if res := j.results[c]; !res.flagged(j.capacity, j.results[beladyName]) && res.ratio() > best {
			best, name = res.ratio(), c
		}
	}
	return name
}

// sameRoom lists the cells where ufocache trails the best peer and that
// peer held on average at least 1% more entries than its bound (less than
// the 10% that marks it), and replays ufocache (runs times, pooled) and
// Belady again with the peer's mean occupancy as the bound: how much of
// the gap is room rather than policy.
func sameRoom(jobs []*hrJob, caches []string, workers, runs int) string {
	t := newTable("trace @ capacity", "best peer", "its mean occupancy", "its hit ratio", "ufocache", "ufocache at that occupancy", "Belady at that occupancy", "ufocache − peer at the same occupancy (pp)")
	var rows []*hrJob
	var names []string
	for _, j := range jobs {
		name := bestPeerName(j, caches)
		if name == "" || j.results[peers.Ufocache].ratio() >= j.results[name].ratio() {
			continue
		}
		if occ := j.results[name].meanOcc(); occ < 1.01*float64(j.capacity) {
			continue
		}
		rows, names = append(rows, j), append(names, name)
	}
	if len(rows) == 0 {
		return "No cell: wherever ufocache trails, the best peer held within 1% of its bound.\n"
	}
	type again struct{ ufo, opt replayResult }
	out := make([]again, len(rows))
	at := make([]int, len(rows))
	for i := range at {
		at[i] = i
	}
	runPool(workers, at, func(i int) {
		j := rows[i]
		room := int(math.Round(j.results[names[i]].meanOcc()))
		out[i].ufo = replays(runs, func() replayResult {
			c := peers.MustNew[uint64, uint64](peers.Ufocache, peers.Config[uint64]{Capacity: int64(room)})
			defer c.Close()
			return replay(c, j.lt.keys, room, nil)
		})
		b := j.lt.oracle.Replay(room)
		out[i].opt = replayResult{requests: b.Requests, hits: b.Hits}
	})
	for i, j := range rows {
		peer := j.results[names[i]]
		t.row(j.label(), names[i], fmt.Sprintf("%.0f", peer.meanOcc()), pct(peer.ratio()), pct(j.results[peers.Ufocache].ratio()),
			pct(out[i].ufo.ratio()), pct(out[i].opt.ratio()), fmt.Sprintf("%+.2f", 100*(out[i].ufo.ratio()-peer.ratio())))
	}
	t.note("The summary's comparison stands as it is (a peer within 10%% of its bound counts as keeping it); this only shows what the extra room is worth.")
	return t.String()
}

// spreadTable lists, for each cache, the widest range of its replays' hit
// ratios in one cell, and the mean range.
func spreadTable(jobs []*hrJob, caches []string) string {
	t := newTable("cache", "widest range (pp)", "at", "mean range (pp)")
	for _, name := range caches {
		widest, sum, n, at := 0.0, 0.0, 0, ""
		for _, j := range jobs {
			res, ok := j.results[name]
			if !ok || res.runs < 2 {
				continue
			}
			d := res.spread()
			sum += d
			n++
			if d > widest || at == "" {
				widest, at = d, j.label()
			}
		}
		if n == 0 {
			continue
		}
		t.row(name, fmt.Sprintf("%.2f", 100*widest), at, fmt.Sprintf("%.2f", 100*sum/float64(n)))
	}
	return t.String()
}

// replays pools runs replays of one cell (replayResult.merge); once
// replays it on a fresh cache.
func replays(runs int, once func() replayResult) replayResult {
	var pooled replayResult
	for range runs {
		pooled.merge(once())
	}
	return pooled
}

// plural spells n things: "1 replay", "3 replays".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
