// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package hashindex is the project's one open-addressing hash index. It maps
// 64-bit hashes to positions in a slice the caller owns, and holds at most a
// fixed number of entries. The caller confirms every candidate position
// against its own key, so two keys whose hashes collide are never merged and
// the index never copies or compares keys itself.
//
// The span cache, the series tables and the attribute-key table of the jeeves
// connector, and the CommBus receiver's series tables, all find their entries
// through it.
package hashindex // import "github.com/jeeves/otelcol-jeeves/internal/hashindex"

// Index maps hashes to positions 0..Limit()-1. The zero value is not usable;
// call New.
type Index struct {
	slots []slot
	mask  uint64
	used  int
	limit int
}

type slot struct {
	hash uint64
	pos  int32 // position+1; 0 = empty
}

// minSlots is the slot array a new index starts with.
const minSlots = 16

// New returns an empty index that holds at most limit entries (limit >= 1).
// Its slot array starts small and doubles as entries arrive, staying at most
// half full, so a lookup of an absent hash ends after a short probe.
func New(limit int) Index {
	limit = max(limit, 1)
	return Index{slots: make([]slot, minSlots), mask: minSlots - 1, limit: limit}
}

// Len returns the number of entries.
func (x *Index) Len() int { return x.used }

// Limit returns the most entries the index holds.
func (x *Index) Limit() int { return x.limit }

// Full reports whether Insert would refuse a new entry.
func (x *Index) Full() bool { return x.used >= x.limit }

// Probe starts a lookup of hash h.
func (x *Index) Probe(h uint64) Probe {
	return Probe{x: x, i: h & x.mask, h: h}
}

// Probe walks the positions stored under one hash. It is three words, so it
// stays in registers; the index must not change while a probe is in use.
type Probe struct {
	x    *Index
	i, h uint64
}

// Next returns the next position stored with the probed hash, or -1 when
// there is none left. The caller compares its key at that position and calls
// Next again on a mismatch.
func (p *Probe) Next() int {
	for {
		s := p.x.slots[p.i]
		p.i = (p.i + 1) & p.x.mask
		if s.pos == 0 {
			return -1
		}
		if s.hash == p.h {
			return int(s.pos - 1)
		}
	}
}

// Insert records pos under hash h and reports true, or reports false when the
// index already holds Limit entries. The caller must not insert a key that is
// present (look it up first).
func (x *Index) Insert(h uint64, pos int) bool {
	if x.used >= x.limit {
		return false
	}
	if (x.used+1)*2 > len(x.slots) {
		x.grow(len(x.slots) * 2)
	}
	x.put(h, pos)
	x.used++
	return true
}

// Reset forgets every entry and keeps the slot array for reuse.
func (x *Index) Reset() {
	clear(x.slots)
	x.used = 0
}

func (x *Index) put(h uint64, pos int) {
	i := h & x.mask
	for x.slots[i].pos != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = slot{hash: h, pos: int32(pos + 1)}
}

func (x *Index) grow(size int) {
	old := x.slots
	x.slots = make([]slot, size)
	x.mask = uint64(size - 1)
	for _, s := range old {
		if s.pos != 0 {
			x.put(s.hash, int(s.pos-1))
		}
	}
}
