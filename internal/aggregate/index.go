// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package aggregate // import "github.com/jeeves/otelcol-jeeves/internal/aggregate"

import "hash/maphash"

// index maps series keys to positions in Table.series with open addressing
// on a 64-bit hash of the key. A hash match is confirmed by comparing the
// stored key, so collisions cannot merge two series. It is cheaper than a Go
// map for the long keys of span metrics, and is rebuilt (never deleted from)
// when series expire.
type index struct {
	seed  maphash.Seed
	slots []slot
	mask  uint64
	used  int
}

type slot struct {
	hash uint64
	pos  int32 // position+1 in Table.series; 0 = empty
}

func newIndex() index {
	return index{seed: maphash.MakeSeed(), slots: make([]slot, 64), mask: 63}
}

func (x *index) hash(key []byte) uint64 { return maphash.Bytes(x.seed, key) }

// find returns the series position for key (with hash h), or -1.
func (x *index) find(h uint64, key []byte, series []Series) int {
	for i := h & x.mask; ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s.pos == 0 {
			return -1
		}
		if s.hash == h && series[s.pos-1].key == string(key) {
			return int(s.pos - 1)
		}
	}
}

// insert records pos for hash h; the key must not be present.
func (x *index) insert(h uint64, pos int) {
	if (x.used+1)*2 > len(x.slots) {
		x.grow(len(x.slots) * 2)
	}
	x.put(h, pos)
	x.used++
}

func (x *index) put(h uint64, pos int) {
	i := h & x.mask
	for x.slots[i].pos != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = slot{hash: h, pos: int32(pos + 1)}
}

func (x *index) grow(size int) {
	old := x.slots
	x.slots = make([]slot, size)
	x.mask = uint64(size - 1)
	for _, s := range old {
		if s.pos != 0 {
			x.put(s.hash, int(s.pos-1))
		}
	}
}

// rebuild indexes series from scratch (after expiry moved them).
func (x *index) rebuild(series []Series) {
	clear(x.slots)
	x.used = 0
	for i := range series {
		x.insert(series[i].hash, i)
	}
}
