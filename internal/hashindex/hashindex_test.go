// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package hashindex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// find is how callers use the index: walk the candidates, confirm each.
func find(x *Index, keys []string, h uint64, key string) int {
	p := x.Probe(h)
	for pos := p.Next(); pos >= 0; pos = p.Next() {
		if keys[pos] == key {
			return pos
		}
	}
	return -1
}

func TestCollidingHashesStayApart(t *testing.T) {
	x := New(100)
	var keys []string
	for _, k := range []string{"a", "b", "c", "d"} {
		keys = append(keys, k)
		require.True(t, x.Insert(7, len(keys)-1)) // every key under the same hash
	}
	for i, k := range keys {
		assert.Equal(t, i, find(&x, keys, 7, k))
	}
	assert.Equal(t, -1, find(&x, keys, 7, "e"))
	assert.Equal(t, -1, find(&x, keys, 8, "a"))
}

func TestLimitIsHit(t *testing.T) {
	x := New(3)
	for i := range 3 {
		require.True(t, x.Insert(uint64(i)*0x9E3779B97F4A7C15, i))
	}
	assert.True(t, x.Full())
	assert.False(t, x.Insert(99, 3), "the fourth entry is refused")
	assert.Equal(t, 3, x.Len())
	x.Reset()
	assert.Equal(t, 0, x.Len())
	assert.True(t, x.Insert(99, 0), "room again after Reset")
}

func TestGrowKeepsEveryEntry(t *testing.T) {
	const n = 10_000
	x := New(n)
	keys := make([]string, n)
	for i := range n {
		keys[i] = string(rune('a'+i%26)) + string(rune(i))
		require.True(t, x.Insert(uint64(i%97), i)) // heavy collisions across growth
	}
	for i := range n {
		require.Equal(t, i, find(&x, keys, uint64(i%97), keys[i]))
	}
	assert.LessOrEqual(t, 2*x.Len(), len(x.slots), "at most half full")
}

func TestZeroLimitHoldsOne(t *testing.T) {
	x := New(0)
	assert.Equal(t, 1, x.Limit())
	assert.True(t, x.Insert(1, 0))
	assert.False(t, x.Insert(2, 1))
}

// FuzzIndexAgreesWithMap inserts keys whose hashes are forced to collide
// often (the fuzzer picks the hash bits), up to a small limit, and checks
// every lookup against a map: nothing inserted is lost, nothing absent is
// found, and the limit is never exceeded.
func FuzzIndexAgreesWithMap(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1, 2, 3, 255, 0}, uint8(4))
	f.Add([]byte("collide collide collide"), uint8(50))
	f.Fuzz(func(t *testing.T, ops []byte, limit uint8) {
		x := New(int(limit))
		type entry struct {
			pos int
			h   uint64
		}
		var keys []string
		model := map[string]entry{}
		for i, b := range ops {
			key := string([]byte{b, byte(i % 7)})
			h := uint64(b & 0x0f) // 16 distinct hashes: heavy collisions
			if e, ok := model[key]; ok {
				require.Equal(t, e.pos, find(&x, keys, h, key))
				continue
			}
			require.Equal(t, -1, find(&x, keys, h, key))
			if x.Insert(h, len(keys)) {
				model[key] = entry{pos: len(keys), h: h}
				keys = append(keys, key)
			} else {
				require.True(t, x.Full())
			}
			require.LessOrEqual(t, x.Len(), x.Limit())
		}
		for k, e := range model {
			require.Equal(t, e.pos, find(&x, keys, e.h, k))
		}
	})
}
