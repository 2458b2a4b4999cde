// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import "github.com/jeeves/otelcol-jeeves/internal/hashindex"

// keySet finds the slot of an attribute key that some rules read. Spans carry
// many attributes the rules never read, so a miss must be cheap: a bitmap of
// the key lengths in the set rules out most keys before any hashing; the
// probe hash looks at the length and three bytes only, and a bitmap of its
// top byte rules out most of the rest before the index is probed; the full
// key is compared only once the whole probe hash agrees. A key set is built
// at compile time and never changes after.
type keySet struct {
	index     hashindex.Index // keyHash → position in entries
	entries   []keyEntry
	lens      byteSet // the lengths of the keys
	hashes    byteSet // the top byte of the keys' hashes
	primaries int     // entries with primary set
}

type keyEntry struct {
	key     string
	slot    uint16
	primary bool // first choice of some field: once all are found, scanning can stop
}

// newKeySet returns an empty key set for at most limit keys.
func newKeySet(limit int) keySet {
	return keySet{index: hashindex.New(limit)}
}

// add puts key in the set, once; primary marks it as the first choice of a
// field, and a key once primary stays so. The limit given to newKeySet must
// cover every key added.
func (ks *keySet) add(key string, slot uint16, primary bool) {
	h := keyHash(key)
	if e := ks.find(key, h); e != nil {
		if primary && !e.primary {
			e.primary = true
			ks.primaries++
		}
		return
	}
	ks.index.Insert(h, len(ks.entries))
	ks.entries = append(ks.entries, keyEntry{key: key, slot: slot, primary: primary})
	if primary {
		ks.primaries++
	}
	ks.lens.add(uint8(len(key)))
	ks.hashes.add(uint8(h >> hashTopShift))
}

func (ks *keySet) empty() bool { return len(ks.entries) == 0 }

// mayHoldLen reports whether the set has a key of length n; when it does
// not, a key of that length needs no hashing.
func (ks *keySet) mayHoldLen(n int) bool {
	return n < MaxAttributeKeyBytes && ks.lens.has(uint8(n))
}

// mayHoldHash reports whether the set has a key whose hash has the top byte
// of h; when it does not, the key is not in the set. With a few dozen keys in
// a set, most absent keys that pass the length test fail this one.
func (ks *keySet) mayHoldHash(h uint64) bool { return ks.hashes.has(uint8(h >> hashTopShift)) }

// find returns the entry of key, whose keyHash is h, or nil.
func (ks *keySet) find(key string, h uint64) *keyEntry {
	p := ks.index.Probe(h)
	for pos := p.Next(); pos >= 0; pos = p.Next() {
		if e := &ks.entries[pos]; e.key == key {
			return e
		}
	}
	return nil
}

// keyHash is the probe hash of an attribute key: its length and its first,
// middle and last bytes, packed and then mixed so that both the low bits the
// index probes with and the top byte mayHoldHash reads depend on all four.
// Packing and mixing are both one-to-one, so two keys share a hash only when
// those four agree.
func keyHash(k string) uint64 {
	n := len(k)
	if n == 0 {
		return 0
	}
	h := (uint64(n) | uint64(k[0])<<32 | uint64(k[n/2])<<40 | uint64(k[n-1])<<48) * keyHashMul
	return h ^ h>>32
}

// keyHashMul is 2^64 divided by the golden ratio, made odd: multiplying by it
// is one-to-one and carries every input bit into the top bits.
const keyHashMul = 0x9E3779B97F4A7C15

// hashTopShift keeps the top byte of a keyHash.
const hashTopShift = 64 - 8

// byteSet is a set of values below 256, one bit each: attribute key lengths
// (below MaxAttributeKeyBytes), hash bytes, first bytes of span names.
type byteSet [256 / 64]uint64

func (s *byteSet) add(b uint8)      { s[b/64] |= 1 << (b % 64) }
func (s *byteSet) has(b uint8) bool { return s[b/64]&(1<<(b%64)) != 0 }
