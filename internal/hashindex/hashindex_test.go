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
