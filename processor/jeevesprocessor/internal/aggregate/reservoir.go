// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package aggregate // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/aggregate"

// reservoir keeps the most recent exemplars of one data point in a fixed ring,
// so offering one never allocates and the memory per series is fixed.
type reservoir struct {
	items []Exemplar
	n     int // exemplars held
	next  int // slot the next exemplar goes to
}

func (r *reservoir) add(e *Exemplar) {
	if len(r.items) == 0 {
		return
	}
	r.items[r.next] = *e
	r.next++
	if r.next == len(r.items) {
		r.next = 0
	}
	if r.n < len(r.items) {
		r.n++
	}
}

// drain appends the exemplars to emit to out, oldest first, and keeps only the
// undecided ones (in order) for the next flush.
func (r *reservoir) drain(out []Exemplar, keep KeepExemplarFunc) []Exemplar {
	if r.n == 0 {
		return out
	}
	size := len(r.items)
	oldest := r.next - r.n
	if oldest < 0 {
		oldest += size
	}
	held := 0
	// Undecided exemplars are collected first (on the stack for the usual
	// reservoir sizes), then written back from slot 0 in age order.
	var pending [8]Exemplar
	var spill []Exemplar
	for i := 0; i < r.n; i++ {
		e := r.items[(oldest+i)%size]
		if keep != nil {
			kept, decided := keep(e.TraceID)
			if !decided {
				if held < len(pending) {
					pending[held] = e
				} else {
					spill = append(spill, e)
				}
				held++
				continue
			}
			if !kept {
				continue
			}
		}
		out = append(out, e)
	}
	for i := 0; i < held; i++ {
		if i < len(pending) {
			r.items[i] = pending[i]
		} else {
			r.items[i] = spill[i-len(pending)]
		}
	}
	r.n = held
	r.next = held % size
	return out
}
