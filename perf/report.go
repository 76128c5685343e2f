package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is one suite's output: Markdown sections, the charts it drew and
// a few headline lines for the summary.
type report struct {
	name     string
	title    string
	sections []string
	charts   []chart
	headline []string
	elapsed  time.Duration
}

func (r *report) add(format string, args ...any) {
	r.sections = append(r.sections, fmt.Sprintf(format, args...))
}

func (r *report) addTable(t *table) { r.sections = append(r.sections, t.String()) }

func (r *report) markdown(m machine, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n", r.title, m.header(command))
	for _, s := range r.sections {
		b.WriteString("\n")
		b.WriteString(strings.TrimRight(s, "\n"))
		b.WriteString("\n")
	}
	for _, c := range r.charts {
		fmt.Fprintf(&b, "\n![%s](%s)\n", c.title, c.file)
	}
	return b.String()
}

// write saves the report as dir/<name>.md and draws its charts there; a
// blank dir writes nothing.
func (r *report) write(dir string, m machine, command string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range r.charts {
		if err := c.draw(filepath.Join(dir, c.file)); err != nil {
			return fmt.Errorf("chart %s: %w", c.file, err)
		}
	}
	return os.WriteFile(filepath.Join(dir, r.name+".md"), []byte(r.markdown(m, command)), 0o644)
}

func writeSummary(dir string, m machine, command string, reports []*report, total time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# ufocache side by side with its peers\n\n%s\n", m.header(command))
	fmt.Fprintf(&b, "Total time: %s. The numbers below are from one run; see each suite's file for every cell.\n", total.Round(time.Second))
	for _, r := range reports {
		fmt.Fprintf(&b, "\n## [%s](%s.md) (%s)\n\n", r.title, r.name, r.elapsed.Round(time.Second/10))
		for _, h := range r.headline {
			b.WriteString(strings.TrimRight(h, "\n"))
			b.WriteString("\n")
		}
	}
	if dir == "" {
		fmt.Fprintf(os.Stderr, "perf: all suites took %s\n", total.Round(time.Second/10))
		return nil
	}
	fmt.Fprintf(os.Stderr, "perf: all suites took %s; results in %s\n", total.Round(time.Second/10), dir)
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(b.String()), 0o644)
}

// table is a Markdown table.
type table struct {
	head  []string
	rows  [][]string
	notes []string // printed under the table
}

func newTable(head ...string) *table { return &table{head: head} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *table) String() string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---"
		if i > 0 {
			sep[i] = "---:"
		}
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.notes {
			b.WriteString(n)
			b.WriteString("\n")
		}
	}
	return b.String()
}
