package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ufocache/ufocache/perf/peers"
)

// publishedCell is one row of testdata/traces/peers_hitratio.tsv.
type publishedCell struct {
	hit, occupancy float64
}

type cellKey struct {
	trace    string
	capacity int
	cache    string
}

func readPublished(dir string) (map[cellKey]publishedCell, error) {
	f, err := os.Open(filepath.Join(dir, "peers_hitratio.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[cellKey]publishedCell{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		f := strings.Split(sc.Text(), "\t")
		if line == 1 || len(f) == 0 || f[0] == "" {
			continue
		}
		if len(f) != 5 {
			return nil, fmt.Errorf("peers_hitratio.tsv line %d: %d fields", line, len(f))
		}
		c, err1 := strconv.Atoi(f[1])
		h, err2 := strconv.ParseFloat(f[3], 64)
		o, err3 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("peers_hitratio.tsv line %d: bad number", line)
		}
		out[cellKey{f[0], c, f[2]}] = publishedCell{h, o}
	}
	return out, sc.Err()
}

// comparePeers sets this run's Belady and peer numbers beside the
// published ones.
func comparePeers(dir string, jobs []*hrJob) (string, error) {
	pub, err := readPublished(dir)
	if err != nil {
		return "", err
	}
	type agg struct {
		n          int
		sum, worst float64
		worstCell  string
	}
	stats := map[string]*agg{}
	var names []string
	far := newTable("cell", "cache", "this run", "published", "Δ (pp)", "occupancy this run / published")
	var other []string // cells published on another request stream
	for _, j := range jobs {
		if here, ok := j.results[beladyName]; ok {
			// Belady's optimum is a function of the requests: where it
			// differs, so did the stream (the published Zipf rows were
			// drawn with another generator), and the cell compares
			// nothing (the policy suite skips such cells too).
			if p, ok := pub[cellKey{j.lt.spec.name, j.capacity, beladyName}]; ok && math.Abs(100*here.ratio()-p.hit) > 1e-4 {
				other = append(other, j.label())
				continue
			}
		}
		for name, res := range j.results {
			p, ok := pub[cellKey{j.lt.spec.name, j.capacity, name}]
			if !ok {
				continue
			}
			a := stats[name]
			if a == nil {
				a = &agg{}
				stats[name] = a
				names = append(names, name)
			}
			d := 100*res.ratio() - p.hit
			a.n++
			a.sum += math.Abs(d)
			if math.Abs(d) >= math.Abs(a.worst) {
				a.worst, a.worstCell = d, j.label()
			}
			if math.Abs(d) > 1 {
				occ := "n/a"
				if res.samples > 0 {
					occ = fmt.Sprintf("%.0f", res.meanOcc())
				}
				far.row(j.label(), name, pct(res.ratio()), fmt.Sprintf("%.2f", p.hit), fmt.Sprintf("%+.2f", d), occ+" / "+fmtOcc(p.occupancy))
			}
		}
	}
	if len(names) == 0 {
		return "No cell of this run is in peers_hitratio.tsv.", nil
	}
	slices.Sort(names)
	t := newTable("cache", "cells", "mean |Δ| (pp)", "largest Δ (pp)", "at")
	for _, name := range names {
		a := stats[name]
		t.row(name, strconv.Itoa(a.n), fmt.Sprintf("%.2f", a.sum/float64(a.n)), fmt.Sprintf("%+.2f", a.worst), a.worstCell)
	}
	out := "This run minus the published numbers (testdata/traces/peers_hitratio.tsv), over the cells both have. " +
		"The published run left " + andList(peers.Synchronous) + " " + verb(len(peers.Synchronous), "its", "their") + " default asynchronous maintenance; " +
		"this one drives " + verb(len(peers.Synchronous), "it", "them") + " synchronously (see the top of this page), so " +
		verb(len(peers.Synchronous), "its", "their") + " cells differ most where the published run held more than the bound.\n\n" + t.String()
	if len(other) > 0 {
		out += "\nLeft out, published on another request stream (Belady's optimum differs): " + strings.Join(other, ", ") + ".\n"
	}
	slices.SortStableFunc(far.rows, func(a, b []string) int { return strings.Compare(a[1], b[1]) })
	if len(far.rows) > 0 {
		out += "\nCells more than 1 pp apart:\n\n" + far.String()
	}
	return out, nil
}

func fmtOcc(x float64) string {
	if x < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", x)
}
