// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

// keyTable finds the slot of an attribute key the rules read. Spans carry many
// attributes the rules never read, so a miss must be cheap: the probe hash
// looks at the length and three bytes only, and the full key is compared once
// on a probe hit. It is built once at compile time and never changes.
type keyTable struct {
	entries []keyEntry
	mask    uint32
}

type keyEntry struct {
	key     string
	slot    uint16
	used    bool
	primary bool // first choice of some field: once all are found, scanning can stop
}

func keyHash(k string) uint32 {
	n := len(k)
	if n == 0 {
		return 0
	}
	return uint32(n)*0x9E3779B1 ^ uint32(k[0])*0x85EBCA77 ^ uint32(k[n/2])*0xC2B2AE3D ^ uint32(k[n-1])*0x27D4EB2F
}

func newKeyTable(keys map[string]uint16, primary map[string]bool) keyTable {
	size := 64
	for size < 4*len(keys) {
		size *= 2
	}
	t := keyTable{entries: make([]keyEntry, size), mask: uint32(size - 1)}
	for k, s := range keys {
		i := keyHash(k) & t.mask
		for t.entries[i].used {
			i = (i + 1) & t.mask
		}
		t.entries[i] = keyEntry{key: k, slot: s, used: true, primary: primary[k]}
	}
	return t
}

func (t *keyTable) find(k string) *keyEntry {
	for i := keyHash(k) & t.mask; ; i = (i + 1) & t.mask {
		e := &t.entries[i]
		if !e.used {
			return nil
		}
		if e.key == k {
			return e
		}
	}
}

// keySet is a keyTable plus a bitmap of the key lengths it holds, so most
// attribute keys are skipped without hashing.
type keySet struct {
	table     keyTable
	lens      [4]uint64
	empty     bool
	primaries int
}

// newKeySet builds a key set; primary marks the keys that are the first
// choice of a field, so a scan may stop once all of them are found.
func newKeySet(keys map[string]uint16, primary map[string]bool) keySet {
	ks := keySet{table: newKeyTable(keys, primary), empty: len(keys) == 0, primaries: len(primary)}
	for k := range keys {
		if n := len(k); n < MaxAttributeKeyBytes {
			ks.lens[n/64] |= 1 << (n % 64)
		}
	}
	return ks
}
