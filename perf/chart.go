package main

import (
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// series is one line of a chart.
type series struct {
	name string
	xs   []float64
	ys   []float64
}

// chart is a line chart drawn as SVG when the report is written.
type chart struct {
	title, file    string
	xLabel, yLabel string
	logX           bool
	series         []series
}

func (c *chart) add(name string, x, y float64) {
	for i := range c.series {
		if c.series[i].name == name {
			c.series[i].xs = append(c.series[i].xs, x)
			c.series[i].ys = append(c.series[i].ys, y)
			return
		}
	}
	c.series = append(c.series, series{name: name, xs: []float64{x}, ys: []float64{y}})
}

// draw writes the chart to path, in the format its extension names (svg,
// png, ...), with the legend beside the plot rather than over the lines.
func (c *chart) draw(path string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = c.xLabel
	p.Y.Label.Text = c.yLabel
	p.Y.Min = 0
	if c.logX {
		p.X.Scale = plot.LogScale{}
	}
	p.X.Tick.Marker = c.ticks()
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	p.Add(plotter.NewGrid())
	for i, s := range c.series {
		pts := make(plotter.XYs, len(s.xs))
		for j := range s.xs {
			pts[j].X, pts[j].Y = s.xs[j], s.ys[j]
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		col := seriesColor(i)
		if s.name == "belady-opt" || s.name == "ufocache" {
			line.Width = vg.Points(2.5)
		}
		if s.name == "belady-opt" {
			col = color.Black
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		line.Color = col
		points.Color = col
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		legend.Add(s.name, line, points)
	}
	const w, h, legendW = 9 * vg.Inch, 5 * vg.Inch, 1.7 * vg.Inch
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	cw, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return err
	}
	dc := draw.New(cw)
	p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	legend.Draw(draw.Crop(dc, w-legendW+vg.Points(6), 0, 0, -vg.Points(24)))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// palette holds a colour for each series of the largest chart (nine
// caches in the throughput charts; belady-opt is drawn in black):
// plotutil's seven repeat, and xsync-mapof and sync-map were drawn in
// ufocache's and otter v2's colours.
var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255},
}

// seriesColor returns the colour of the i-th series.
func seriesColor(i int) color.Color { return palette[i%len(palette)] }

// ticks marks the x values the series use, and only those.
func (c *chart) ticks() plot.ConstantTicks {
	var xs []float64
	for _, s := range c.series {
		xs = append(xs, s.xs...)
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	ticks := make(plot.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
	}
	return ticks
}
