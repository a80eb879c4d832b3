package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Series is one line of a chart.
type Series struct {
	Name string
	X, Y []float64
}

// Chart is a line chart with one or two y axes: series on the right axis
// are drawn dashed.
type Chart struct {
	Title           string
	XLabel          string
	YLabel, Y2Label string
	LogX            bool
	Left, Right     []Series
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"}

// WriteSVG draws c as a self-contained SVG.
func (c Chart) WriteSVG(w io.Writer) error {
	const W, H, ml, mr, mt, mb = 720.0, 400.0, 70.0, 70.0, 40.0, 60.0
	pw, ph := W-ml-mr, H-mt-mb
	xs := func(v float64) float64 {
		if c.LogX {
			return math.Log10(v)
		}
		return v
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range append(append([]Series{}, c.Left...), c.Right...) {
		for _, x := range s.X {
			xmin, xmax = math.Min(xmin, xs(x)), math.Max(xmax, xs(x))
		}
	}
	if !c.LogX {
		xmin = 0
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	ymax := func(ss []Series) float64 {
		m := 0.0
		for _, s := range ss {
			for _, y := range s.Y {
				m = math.Max(m, y)
			}
		}
		return nice(m)
	}
	y1, y2 := ymax(c.Left), ymax(c.Right)
	px := func(x float64) float64 { return ml + (xs(x)-xmin)/(xmax-xmin)*pw }
	py := func(y, top float64) float64 { return mt + ph - y/top*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" text-anchor="middle" font-size="15">%s</text>`+"\n", W/2, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", ml, mt, pw, ph)
	for i := 0; i <= 5; i++ {
		f := float64(i) / 5
		y := mt + ph - f*ph
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", ml, ml+pw, y, y)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", ml-6, y+4, num(f*y1))
		if len(c.Right) > 0 {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f">%s</text>`+"\n", ml+pw+6, y+4, num(f*y2))
		}
	}
	ticks := map[float64]bool{}
	for _, s := range append(append([]Series{}, c.Left...), c.Right...) {
		for _, x := range s.X {
			ticks[x] = true
		}
	}
	if len(ticks) > 12 {
		ticks = map[float64]bool{}
		for i := 0; i <= 5; i++ {
			ticks[nice(xmax)*float64(i)/5] = true
		}
	}
	for x := range ticks {
		if xs(x) > xmax+1e-9 {
			continue
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", px(x), mt+ph+18, num(x))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", ml+pw/2, H-18, html.EscapeString(c.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", mt+ph/2, html.EscapeString(c.YLabel))
	if len(c.Right) > 0 {
		fmt.Fprintf(&b, `<text transform="translate(%.0f %.0f) rotate(90)" text-anchor="middle">%s</text>`+"\n", W-14, mt+ph/2, html.EscapeString(c.Y2Label))
	}
	i := 0
	draw := func(s Series, top float64, dash string) {
		col := palette[i%len(palette)]
		var pts []string
		for j := range s.X {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j], top)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>`+"\n", col, dash, strings.Join(pts, " "))
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], col)
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%d" y2="%d" stroke="%s" stroke-width="2" %s/><text x="%.0f" y="%d">%s</text>`+"\n",
			ml+10, ml+34, int(mt)+14+16*i, int(mt)+14+16*i, col, dash, ml+40, int(mt)+18+16*i, html.EscapeString(s.Name))
		i++
	}
	for _, s := range c.Left {
		draw(s, y1, "")
	}
	for _, s := range c.Right {
		draw(s, y2, `stroke-dasharray="6 4"`)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// nice rounds m up to 1, 2 or 5 times a power of ten.
func nice(m float64) float64 {
	if m <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*p >= m {
			return f * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}
