package sampler

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
)

// plotPath is where TestBudgetConvergence writes its plot: $JEEVES_BUDGET_PLOT, else nowhere.
// `make sampling-plot` sets it to docs/sampling-budget.png.
func plotPath() string { return os.Getenv("JEEVES_BUDGET_PLOT") }

// writePlot draws spans/s sent (grey), forwarded (blue) and the target (red) per second as a PNG,
// with the standard library only: 3 px per second, y from 0 to the largest value sent.
func writePlot(path string, sent, fwd []float64, target float64) error {
	const px, h, margin = 3, 300, 10
	top := target
	for _, v := range sent {
		top = max(top, v)
	}
	w := len(sent)*px + 2*margin
	img := image.NewRGBA(image.Rect(0, 0, w, h+2*margin))
	for x := range w {
		for y := range h + 2*margin {
			img.Set(x, y, color.White)
		}
	}
	y := func(v float64) int { return margin + h - int(v/top*float64(h)) }
	line := func(vals func(int) float64, c color.Color) {
		for i := range sent {
			for dx := range px {
				x := margin + i*px + dx
				for dy := -1; dy <= 1; dy++ {
					img.Set(x, y(vals(i))+dy, c)
				}
			}
		}
	}
	line(func(i int) float64 { return sent[i] }, color.Gray{Y: 170})
	line(func(int) float64 { return target }, color.RGBA{R: 220, A: 255})
	line(func(i int) float64 { return fwd[i] }, color.RGBA{B: 220, G: 80, A: 255})
	for x := margin; x < w-margin; x++ { // axis
		img.Set(x, margin+h, color.Black)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = png.Encode(f, img)
	return errors.Join(err, f.Close())
}
