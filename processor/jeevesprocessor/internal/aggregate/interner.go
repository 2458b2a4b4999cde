// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package aggregate // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/aggregate"

// Interner gives each distinct key a dense id (0, 1, 2, …) until Reset. The
// engine uses it to resolve all the series one span updates with a single
// lookup on the span's full label set.
type Interner struct {
	index  index
	series []Series // only key and hash are used
}

// NewInterner returns an empty interner.
func NewInterner() *Interner { return &Interner{index: newIndex()} }

// Intern returns the id of key and whether it was new.
func (n *Interner) Intern(key []byte) (id int, isNew bool) {
	h := n.index.hash(key)
	if i := n.index.find(h, key, n.series); i >= 0 {
		return i, false
	}
	n.index.insert(h, len(n.series))
	n.series = append(n.series, Series{key: string(key), hash: h})
	return len(n.series) - 1, true
}

// Len returns the number of ids handed out since the last Reset.
func (n *Interner) Len() int { return len(n.series) }

// Reset forgets every key, keeping the memory of the index.
func (n *Interner) Reset() {
	clear(n.series)
	n.series = n.series[:0]
	n.index.rebuild(nil)
}
