// Command perf measures ufocache side by side with its peers: throughput,
// hit ratio on real and synthetic traces (with Belady's optimum as the
// ceiling), memory per entry, read-through stampedes and Get latency.
//
// Run the default suite from the repository root:
//
//	go -C perf run .
//
// and see README.md for the flags.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/readthrough"
)

// config is what the flags select.
type config struct {
	suites   []string
	quick    bool
	cpus     []int
	reps     int
	duration time.Duration
	caches   []string // empty: every cache the suite knows
	traces   []string // empty: the default set
	traceDir string
	out      string // "" : stdout only
	workers  int
	readme   string // "" : leave the repository's README alone

	// A user's own trace, replayed beside the bundled ones.
	userTrace, userFormat string
	userCaps              []int
	runs                  int // hitratio and policy suites: replays per cell and cache
	windows               int // phases suite: windows per trace

	command string    // the command line, for the result files
	stdout  io.Writer // where the reports are printed
}

var suiteOrder = []string{"hitratio", "throughput", "memory", "stampede", "latency"}

// partialOut is where a run of less than every suite, cache and trace
// writes by default (ignored by git).
const partialOut = "results/partial"

// extraSuites run only when named: tools for developers, not results.
var extraSuites = []string{"policy", "phases"}

// suite runs one measurement and returns its Markdown report.
type suite func(cfg *config) (*report, error)

var suites = map[string]suite{
	"hitratio":   runHitRatio,
	"throughput": runThroughput,
	"memory":     runMemory,
	"stampede":   runStampede,
	"latency":    runLatency,
	"policy":     runPolicy,
	"phases":     runPhases,
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	suiteList := fs.String("suite", strings.Join(suiteOrder, ","), "suites to run: "+strings.Join(suiteOrder, ",")+" (and, only when named: "+strings.Join(extraSuites, ",")+")")
	quick := fs.Bool("quick", false, "tiny sizes and a small trace subset, for CI smoke runs")
	cpuList := fs.String("cpu", "", "GOMAXPROCS values for throughput (default 1,NumCPU)")
	reps := fs.Int("reps", 0, "repetitions per throughput cell; the median is kept (default 3, quick 1)")
	dur := fs.Duration("duration", 0, "time per throughput or latency run (default 200ms, quick 10ms)")
	cacheList := fs.String("caches", "", "comma-separated cache names (default: all)")
	traceList := fs.String("traces", "", "comma-separated trace names (and 'expiring', the TTL workloads), or 'all' (default: all, quick: a small subset)")
	traceDir := fs.String("tracedir", "../testdata/traces", "directory of the bundled traces")
	out := fs.String("out", "", "directory for the result files (default results for a run of every suite, cache and trace, else "+partialOut+"; none with -quick)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "parallel hit-ratio replays")
	readme := fs.String("readme", "", "README whose results block a run of every suite rewrites (default ../README.md when writing to results/)")
	userTrace := fs.String("trace", "", "replay this trace file too (see -format, -caps)")
	userFormat := fs.String("format", "", "format of -trace: arc, lirs, int64be, int32be, oracleGeneral")
	userCaps := fs.String("caps", "1000,10000", "capacities for -trace")
	windows := fs.Int("windows", 16, "phases suite: windows each trace is cut into, each with its own hit ratio")
	runs := fs.Int("runs", 0, "hitratio and policy suites: replays of each cell by each cache, each with a fresh cache and so its own hash seed; a cell shows their mean (default 3, quick 1)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := &config{
		quick:      *quick,
		reps:       *reps,
		duration:   *dur,
		traceDir:   *traceDir,
		out:        *out,
		workers:    max(*workers, 1),
		readme:     *readme,
		userTrace:  *userTrace,
		userFormat: *userFormat,
		runs:       *runs,
		windows:    *windows,
		command:    "go -C perf run . " + strings.Join(args, " "),
		stdout:     os.Stdout,
	}
	cfg.command = strings.TrimSpace(cfg.command)
	for _, s := range splitList(*suiteList) {
		if suites[s] == nil {
			return nil, fmt.Errorf("unknown suite %q (known: %s)", s, strings.Join(slices.Concat(suiteOrder, extraSuites), ","))
		}
		cfg.suites = append(cfg.suites, s)
	}
	var err error
	if *cpuList == "" {
		cfg.cpus = []int{1}
		if n := runtime.NumCPU(); n > 1 {
			cfg.cpus = append(cfg.cpus, n)
		}
	} else if cfg.cpus, err = parseInts(*cpuList); err != nil {
		return nil, fmt.Errorf("-cpu: %w", err)
	}
	if cfg.userCaps, err = parseInts(*userCaps); err != nil {
		return nil, fmt.Errorf("-caps: %w", err)
	}
	if cfg.userTrace != "" && cfg.userFormat == "" {
		return nil, fmt.Errorf("-trace needs -format")
	}
	cfg.caches = splitList(*cacheList)
	var known []string // every suite's caches
	for _, n := range slices.Concat(peers.All(), readthrough.Names) {
		if !slices.Contains(known, n) {
			known = append(known, n)
		}
	}
	for _, n := range cfg.caches {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("-caches: unknown cache %q (known: %s)", n, strings.Join(known, ","))
		}
	}
	cfg.traces = splitList(*traceList)
	if cfg.runs < 0 {
		return nil, fmt.Errorf("-runs %d: want at least 1 (0 for the default)", cfg.runs)
	}
	if cfg.windows < 1 {
		return nil, fmt.Errorf("-windows %d: want at least 1", cfg.windows)
	}
	if cfg.runs == 0 {
		cfg.runs = 3
		if cfg.quick {
			cfg.runs = 1
		}
	}
	if cfg.reps == 0 {
		cfg.reps = 3
		if cfg.quick {
			cfg.reps = 1
		}
	}
	if cfg.duration == 0 {
		cfg.duration = 200 * time.Millisecond
		if cfg.quick {
			cfg.duration = 10 * time.Millisecond
		}
	}
	// Every main suite and no other (a count would take a list with an
	// extra suite or a repeat for the full set).
	full := cfg.userTrace == "" && len(cfg.caches) == 0 && len(cfg.traces) == 0
	for _, s := range suiteOrder {
		full = full && slices.Contains(cfg.suites, s)
	}
	for _, s := range cfg.suites {
		full = full && slices.Contains(suiteOrder, s)
	}
	if cfg.out == "" && !cfg.quick {
		// Only the default full run writes results/ and the README: a run
		// of some suites, caches or traces would leave results/README.md
		// (and a suite's file) at odds with the README's tables.
		cfg.out = partialOut
		if full {
			cfg.out = "results"
			if cfg.readme == "" {
				cfg.readme = "../README.md" // the default full run keeps the README's tables true
			}
		}
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

// selected filters names by -caches, keeping their order.
func (cfg *config) selected(names []string) []string {
	if len(cfg.caches) == 0 {
		return names
	}
	var out []string
	for _, n := range names {
		if slices.Contains(cfg.caches, n) {
			out = append(out, n)
		}
	}
	return out
}

func run(cfg *config) error {
	env := describeMachine()
	var reports []*report
	start := time.Now()
	for _, name := range slices.Concat(suiteOrder, extraSuites) {
		if !slices.Contains(cfg.suites, name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "perf: running %s...\n", name)
		t0 := time.Now()
		r, err := suites[name](cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.name, r.elapsed = name, time.Since(t0)
		fmt.Fprintf(os.Stderr, "perf: %s took %s\n", name, r.elapsed.Round(time.Second/10))
		fmt.Fprintln(cfg.stdout, r.markdown(env, cfg.command))
		if err := r.write(cfg.out, env, cfg.command); err != nil {
			return err
		}
		reports = append(reports, r)
	}
	summary, err := writeSummary(cfg.out, env, cfg.command, reports, time.Since(start))
	if err != nil || cfg.readme == "" {
		return err
	}
	fmt.Fprintf(os.Stderr, "perf: results block of %s rewritten\n", cfg.readme)
	return updateReadme(cfg.readme, summary, "perf/"+cfg.out, readmeCharts(reports, slices.Max(cfg.cpus)))
}
