// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

// Series references held by a spanEntry.
const (
	refUnresolved = -2 // not looked up yet
	refNone       = -3 // the span feeds no series of this kind
)

// spanEntry remembers, for one span signature (service, span name, kind,
// status, matched family and its label values), the series it updates, so a
// span seen before costs one lookup whatever it feeds.
type spanEntry struct {
	hash    uint64
	service uint32 // serviceID
	name    string
	kind    ptrace.SpanKind
	status  ptrace.StatusCode
	family  rules.Family
	rule    int
	vals    []string // values of the attribute-derived label fields
	spm     int      // SPM series, refNone without SPM
	refs    [4]int   // family series, by family slot
}

// spanCache finds span entries by a 64-bit hash of the signature, confirmed
// by comparing every component, so collisions cannot mix signatures. Values
// are compared straight against the span's strings: nothing is copied unless
// the signature is new. It holds at most limit entries and starts over when
// full, or when series move (expiry).
type spanCache struct {
	seed64   uint64
	services map[string]uint32 // service name → id; id 0 means no service.name
	slots    []cacheSlot
	mask     uint64
	entries  []spanEntry
	limit    int
}

type cacheSlot struct {
	hash uint64
	pos  int32 // entry position+1; 0 = empty
}

func newSpanCache(limit int) *spanCache {
	c := &spanCache{seed64: maphash.Comparable(maphash.MakeSeed(), 0), limit: limit, services: map[string]uint32{}}
	c.slots = make([]cacheSlot, 64)
	c.mask = 63
	return c
}

func mix(h, v uint64) uint64 {
	return bits.RotateLeft64(h^v, 27) * 0x9E3779B97F4A7C15
}

// hashString is a fast, seeded hash for the short strings of a signature:
// 8-byte words, multiply-mixed. Its quality only affects probe lengths, never
// correctness, because every hit is confirmed by comparing the strings.
func (c *spanCache) hashString(s string) uint64 {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	h := c.seed64 ^ uint64(len(b))*0x9E3779B97F4A7C15
	for len(b) >= 8 {
		h = mix(h, binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	var tail uint64
	if len(b) >= 4 {
		tail = uint64(binary.LittleEndian.Uint32(b))<<32 | uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	} else if len(b) > 0 {
		tail = uint64(b[0])<<16 | uint64(b[len(b)/2])<<8 | uint64(b[len(b)-1])
	}
	return mix(h, tail)
}

// serviceID returns a small id for a resource's service.name (0 when it has
// none), looked up once per resource so spans compare an int, not a string.
// Ids live as long as the entries: the cache starts over when ids run out.
func (c *spanCache) serviceID(service string, hasService bool) uint32 {
	if !hasService {
		return 0
	}
	if id, ok := c.services[service]; ok {
		return id
	}
	if len(c.services) >= maxServices {
		c.reset()
	}
	id := uint32(len(c.services) + 1)
	c.services[strings.Clone(service)] = id
	return id
}

// maxServices bounds the service ids held by a span cache.
const maxServices = 4096

// signature hashes a span's signature.
func (c *spanCache) signature(service uint32, name string, kind ptrace.SpanKind, status ptrace.StatusCode, m *rules.Match) uint64 {
	h := mix(c.seed64^uint64(service), c.hashString(name))
	h = mix(h, uint64(m.Rule)<<32|uint64(kind)<<16|uint64(status)<<8|uint64(m.Family))
	if m.Family != rules.FamilyNone {
		for i, mask := 0, m.AttrFields; mask != 0; i, mask = i+1, mask>>1 {
			if mask&1 != 0 {
				h = mix(h, c.hashString(m.Value(i)))
			}
		}
	}
	return h
}

// find returns the entry of the signature, or nil.
func (c *spanCache) find(h uint64, service uint32, name string, kind ptrace.SpanKind, status ptrace.StatusCode, m *rules.Match) *spanEntry {
	for i := h & c.mask; ; i = (i + 1) & c.mask {
		s := c.slots[i]
		if s.pos == 0 {
			return nil
		}
		if s.hash != h {
			continue
		}
		e := &c.entries[s.pos-1]
		if e.service == service && e.name == name && e.kind == kind && e.status == status && e.family == m.Family && e.rule == m.Rule && sameValues(e.vals, m) {
			return e
		}
	}
}

// sameValues compares the attribute-derived label values (the others follow
// from the rule, span name and status, which the caller compared).
func sameValues(vals []string, m *rules.Match) bool {
	if m.Family == rules.FamilyNone {
		return len(vals) == 0
	}
	j := 0
	for i, mask := 0, m.AttrFields; mask != 0; i, mask = i+1, mask>>1 {
		if mask&1 == 0 {
			continue
		}
		if j >= len(vals) || vals[j] != m.Value(i) {
			return false
		}
		j++
	}
	return j == len(vals)
}

// insert adds a new signature with unresolved references, copying its strings.
func (c *spanCache) insert(h uint64, service uint32, name string, kind ptrace.SpanKind, status ptrace.StatusCode, m *rules.Match) *spanEntry {
	if len(c.entries) >= c.limit {
		c.resetEntries()
	}
	e := spanEntry{
		hash: h, service: service, name: strings.Clone(name), kind: kind, status: status, family: m.Family, rule: m.Rule,
		spm: refUnresolved, refs: [4]int{refUnresolved, refUnresolved, refUnresolved, refUnresolved},
	}
	if m.Family != rules.FamilyNone {
		for i, mask := 0, m.AttrFields; mask != 0; i, mask = i+1, mask>>1 {
			if mask&1 != 0 {
				e.vals = append(e.vals, strings.Clone(m.Value(i)))
			}
		}
	}
	if (len(c.entries)+1)*2 > len(c.slots) {
		c.grow(len(c.slots) * 2)
	}
	c.entries = append(c.entries, e)
	c.put(h, len(c.entries)-1)
	return &c.entries[len(c.entries)-1]
}

func (c *spanCache) put(h uint64, pos int) {
	i := h & c.mask
	for c.slots[i].pos != 0 {
		i = (i + 1) & c.mask
	}
	c.slots[i] = cacheSlot{hash: h, pos: int32(pos + 1)}
}

func (c *spanCache) grow(size int) {
	c.slots = make([]cacheSlot, size)
	c.mask = uint64(size - 1)
	for i := range c.entries {
		c.put(c.entries[i].hash, i)
	}
}

// resetEntries forgets every entry, keeping the slot array and service ids.
func (c *spanCache) resetEntries() {
	clear(c.slots)
	clear(c.entries)
	c.entries = c.entries[:0]
}

// reset forgets every entry and service id.
func (c *spanCache) reset() {
	c.resetEntries()
	clear(c.services)
}

func (c *spanCache) len() int { return len(c.entries) }
