package bench

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot draws the plot (see WritePlot) into the file at path, whose
// extension gives the format.
func (r *Report) Plot(path string) error {
	p, err := r.plot()
	if err != nil {
		return err
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// WritePlot draws the plot in format ("png", "svg", "pdf" …) to w.
func (r *Report) WritePlot(w io.Writer, format string) error {
	p, err := r.plot()
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// plot draws throughput (GB/s) against size (elements, log scale): one
// line per backend and mode, and a dashed line per device for its measured
// copy bandwidth, the ceiling dropout can approach. The file type follows
// the extension of path (.png, .svg, .pdf …).
func (r *Report) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("dropout forward, float32, p=%v, mask %s", r.P, r.Mask)
	p.X.Label.Text = "elements"
	p.Y.Label.Text = "GB/s"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = sizeTicks{}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	type key struct{ backend, mode string }
	lines := map[key]plotter.XYs{}
	var order []key
	ceil := map[string]map[int]float64{} // device -> size -> copy GB/s
	var devs []string
	for _, row := range r.Rows {
		if row.Op != OpForward {
			continue // the plot is float32 dropout's; other ops are in the table
		}
		k := key{row.Backend, row.Mode}
		if _, ok := lines[k]; !ok {
			order = append(order, k)
		}
		lines[k] = append(lines[k], plotter.XY{X: float64(row.Size), Y: row.GBps})
		d := row.Device
		if row.Backend == "torch" {
			d = "torch " + d
		}
		if ceil[d] == nil {
			ceil[d] = map[int]float64{}
			devs = append(devs, d)
		}
		ceil[d][row.Size] = math.Max(ceil[d][row.Size], row.CopyGBps)
	}
	ymax := 0.0
	for _, row := range r.Rows {
		if row.Op == OpForward {
			ymax = math.Max(ymax, math.Max(row.GBps, row.CopyGBps))
		}
	}
	p.Y.Max = ymax * 1.5 // room for the legend above the lines
	if len(order) == 0 {
		return nil, fmt.Errorf("nothing to plot")
	}
	for i, k := range order {
		xy := lines[k]
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		s.Color = l.Color
		s.Shape = plotutil.Shape(i)
		name := k.backend
		if k.mode == ModeHost {
			name += " (host round trip)"
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		} else if k.mode == ModeDevice {
			name += " (device)"
		}
		p.Add(l, s)
		p.Legend.Add(name, l, s)
	}
	for i, d := range devs {
		var xy plotter.XYs
		for n, v := range ceil[d] {
			xy = append(xy, plotter.XY{X: float64(n), Y: v})
		}
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		if len(xy) == 1 { // a single size: draw a short level line
			xy = append(plotter.XYs{{X: xy[0].X / 1.5, Y: xy[0].Y}}, plotter.XY{X: xy[0].X * 1.5, Y: xy[0].Y})
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color = color.Gray{Y: uint8(60 + 40*(i%4))}
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add("copy ceiling: "+shorten(d, 40), l)
	}
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p, nil
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// sizeTicks labels powers of two of the x axis as 1M, 16M ….
type sizeTicks struct{}

func (sizeTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log2(min)); e <= math.Ceil(math.Log2(max)); e++ {
		v := math.Exp2(e)
		if v < min*0.999 || v > max*1.001 {
			continue
		}
		t := plot.Tick{Value: v}
		if int(e)%2 == 0 || max/min < 64 {
			t.Label = FormatSize(int(v))
		}
		ts = append(ts, t)
	}
	if len(ts) < 2 {
		return plot.LogTicks{}.Ticks(min, max)
	}
	return ts
}
