package main

import (
	"maps"
	"math"
	"slices"
	"testing"
)

// Tests of the parts of the throughput and latency suites' run loops that a
// mutation review found no test held: the interleaving of the caches and
// the median of the repetitions, and the percentile columns of the latency
// tables. Every expected value
// is worked out by hand in the comments; none is copied from a run.

// tpCell runs the caches interleaved, every cache once per repetition and
// each repetition starting one cache further on: A B C, then B C A, then
// C A B, so that each cache runs once first, once second and once last.
// A A A B B B C C C would put all of a cache's runs at one time of the
// cell, and A B C three times over would measure the same cache first
// every time. With two caches and three repetitions the rotation wraps:
// A B, B A, A B.
func TestTpCellInterleavesTheCaches(t *testing.T) {
	for _, c := range []struct {
		caches []string
		reps   int
		want   []string
	}{
		{[]string{"A", "B", "C"}, 3, []string{"A", "B", "C", "B", "C", "A", "C", "A", "B"}},
		{[]string{"A", "B"}, 3, []string{"A", "B", "B", "A", "A", "B"}},
	} {
		var order []string
		tpCell(c.caches, c.reps, func(name string) (float64, int64, int64) {
			order = append(order, name)
			return 1, 0, 0
		})
		if !slices.Equal(order, c.want) {
			t.Errorf("%d caches, %d repetitions: ran %v, want %v", len(c.caches), c.reps, order, c.want)
		}
	}
}

// tpCell keeps each cache's median over its repetitions, chosen here so
// that no other pick gives it:
//
//	A, 3 reps:  9  2  1     median 2; first 9, last 1, mean 4, max 9, min 1
//	B, 3 reps: 30 50 40     median 40; of A's and B's runs pooled 19.5
//	A, 4 reps:  4  1 10  2  median (2+4)/2 = 3; first 4, last 2, mean 4.25,
//	                        max 10, min 1, the lower and upper middles 2, 4
//
// The share of Sets that stored nothing is over all the runs together: A's
// runs made 10, 20 and 30 Sets of which 1, 2 and 7 stored nothing, 10 of
// 60, not the mean of the runs' shares (0.1+0.1+0.2333)/3 = 0.1444. B made
// no Set: a share of 0, not NaN.
func TestTpCellTakesTheMedianOfTheRepetitions(t *testing.T) {
	type runResult struct {
		perSec         float64
		sets, unstored int64
	}
	for _, c := range []struct {
		runs         map[string][]runResult // in the order of each cache's runs
		wantMedians  map[string]float64
		wantUnstored map[string]float64
	}{
		{
			runs: map[string][]runResult{
				"A": {{9, 10, 1}, {2, 20, 2}, {1, 30, 7}},
				"B": {{30, 0, 0}, {50, 0, 0}, {40, 0, 0}},
			},
			wantMedians:  map[string]float64{"A": 2, "B": 40},
			wantUnstored: map[string]float64{"A": 10.0 / 60, "B": 0},
		},
		{
			runs:         map[string][]runResult{"A": {{4, 0, 0}, {1, 0, 0}, {10, 0, 0}, {2, 0, 0}}},
			wantMedians:  map[string]float64{"A": 3},
			wantUnstored: map[string]float64{"A": 0},
		},
	} {
		var caches []string
		for name := range c.runs {
			caches = append(caches, name)
		}
		slices.Sort(caches)
		reps := len(c.runs[caches[0]])
		calls := map[string]int{}
		medians, unstored := tpCell(caches, reps, func(name string) (float64, int64, int64) {
			r := c.runs[name][calls[name]]
			calls[name]++
			return r.perSec, r.sets, r.unstored
		})
		if !maps.Equal(medians, c.wantMedians) {
			t.Errorf("runs %v: medians %v, want %v", c.runs, medians, c.wantMedians)
		}
		for name, want := range c.wantUnstored {
			if got, ok := unstored[name]; !ok || math.Abs(got-want) > 1e-12 {
				t.Errorf("runs %v: %s stored nothing in a share %v of its Sets, want %v", c.runs, name, got, want)
			}
		}
	}
}

// The latency tables' columns, on a sample of 1 to 1000 ns (sorted) from
// 32,000 timed operations whose slowest took 5µs. By the nearest rank the
// q-quantile of n = 1000 samples is the ceil(q·n)-th: p50 the 500th (500ns),
// p99 the 990th (990ns), p99.9 the 999th (999ns), p99.99 the 1000th (1µs).
// Each column is looked up by its heading, so that a row whose cells are
// out of step with getCols or setCols fails too.
func TestLatencyRowsColumns(t *testing.T) {
	lr := latencyResult{timed: 32_000, max: 5000}
	for i := range 1000 {
		lr.sorted = append(lr.sorted, int64(i+1))
	}
	want := map[string]string{
		"cache": "x", "samples": "32000", "Sets": "32000",
		"p50": "500ns", "p99": "990ns", "p99.9": "999ns", "p99.99": "1.0µs", "max": "5.0µs",
	}
	for _, c := range []struct {
		table string
		cols  []string
		row   []string
	}{
		{"Get", getCols, getRow("x", lr)},
		{"Set", setCols, setRow("x", lr)},
	} {
		if len(c.row) != len(c.cols) {
			t.Errorf("%s row %v for the columns %v", c.table, c.row, c.cols)
			continue
		}
		for i, col := range c.cols {
			if c.row[i] != want[col] {
				t.Errorf("%s table, column %s: %q, want %q (row %v)", c.table, col, c.row[i], want[col], c.row)
			}
		}
	}
}
