// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package aggregate // import "github.com/jeeves/otelcol-jeeves/internal/aggregate"

// reservoir keeps up to len(items) exemplars of one data point: the first
// ones offered after each flush. Checking for room before reading a span's
// ids keeps the hot path to one comparison once it is full, and the memory
// per series is fixed.
type reservoir struct {
	items []Exemplar
	n     int // exemplars held
	// last is what the latest flush that emitted exemplars emitted; flushes
	// with nothing new repeat it, so an idle series still shows its most
	// recent exemplars (as Prometheus client libraries keep the last exemplar
	// per bucket) instead of losing them at the next flush. Capacity
	// len(items), allocated with items.
	last []Exemplar
}

func (r *reservoir) room() bool { return r.n < len(r.items) }

func (r *reservoir) add(e Exemplar) {
	if r.n < len(r.items) {
		r.items[r.n] = e
		r.n++
	}
}

// maxHeldFlushes is how many flushes an undecided exemplar is held before it
// is dropped, so a trace the sampler never decides (or forgot) cannot keep a
// reservoir slot forever.
const maxHeldFlushes = 8

// drain appends the exemplars to emit to out, in the order they came, and
// keeps only the undecided ones (in order) for the next flush; they keep
// their slots, so undecided exemplars can never exceed the reservoir. When
// nothing new is emitted it appends the previously emitted exemplars again
// (they were decided kept when first emitted, so they stay valid).
func (r *reservoir) drain(out []Exemplar, keep KeepExemplarFunc) []Exemplar {
	start := len(out)
	held := 0
	for i := 0; i < r.n; i++ {
		e := r.items[i]
		if keep != nil {
			kept, decided := keep(e.TraceID)
			if !decided {
				if e.held++; e.held <= maxHeldFlushes {
					r.items[held] = e
					held++
				}
				continue
			}
			if !kept {
				continue
			}
		}
		out = append(out, e)
	}
	clear(r.items[held:r.n])
	r.n = held
	if len(out) > start {
		r.last = append(r.last[:0], out[start:]...)
	} else {
		out = append(out, r.last...)
	}
	return out
}
