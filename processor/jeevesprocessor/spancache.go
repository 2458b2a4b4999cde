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

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/internal/hashindex"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
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
	vals    []string      // values of the attribute-derived label fields
	spm     int           // SPM series reference (aggregate.Ref*)
	refs    [numSlots]int // family series references, by slot (see families.go)
}

// spanCache finds span entries by a 64-bit hash of the signature, confirmed
// by comparing every component, so collisions cannot mix signatures. Values
// are compared straight against the span's strings: nothing is copied unless
// the signature is new. It holds at most limit entries and starts over when
// full, or when series move (expiry).
type spanCache struct {
	seed64   uint64
	services map[string]uint32 // service name → id; id 0 means no service.name
	index    hashindex.Index   // signature hash → position in entries
	entries  []spanEntry
}

func newSpanCache(limit int) *spanCache {
	return &spanCache{
		seed64:   maphash.Comparable(maphash.MakeSeed(), 0),
		services: map[string]uint32{},
		index:    hashindex.New(limit),
	}
}

// lookup returns the entry of the span's signature, inserting one with
// unresolved references when the signature is new.
func (c *spanCache) lookup(service uint32, name string, kind ptrace.SpanKind, status ptrace.StatusCode, m *rules.Match) *spanEntry {
	h := c.signature(service, name, kind, status, m)
	if e := c.find(h, service, name, kind, status, m); e != nil {
		return e
	}
	return c.insert(h, service, name, kind, status, m)
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
	p := c.index.Probe(h)
	for pos := p.Next(); pos >= 0; pos = p.Next() {
		e := &c.entries[pos]
		if e.service == service && e.name == name && e.kind == kind && e.status == status && e.family == m.Family && e.rule == m.Rule && sameValues(e.vals, m) {
			return e
		}
	}
	return nil
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

// insert adds a new signature with unresolved references, copying its
// strings; a full cache starts over first.
func (c *spanCache) insert(h uint64, service uint32, name string, kind ptrace.SpanKind, status ptrace.StatusCode, m *rules.Match) *spanEntry {
	if c.index.Full() {
		c.resetEntries()
	}
	e := spanEntry{
		hash: h, service: service, name: strings.Clone(name), kind: kind, status: status, family: m.Family, rule: m.Rule,
		spm: aggregate.RefUnresolved,
	}
	for i := range e.refs {
		e.refs[i] = aggregate.RefUnresolved
	}
	if m.Family != rules.FamilyNone {
		for i, mask := 0, m.AttrFields; mask != 0; i, mask = i+1, mask>>1 {
			if mask&1 != 0 {
				e.vals = append(e.vals, strings.Clone(m.Value(i)))
			}
		}
	}
	c.index.Insert(h, len(c.entries))
	c.entries = append(c.entries, e)
	return &c.entries[len(c.entries)-1]
}

// resetEntries forgets every entry, keeping the slot array and service ids.
func (c *spanCache) resetEntries() {
	c.index.Reset()
	clear(c.entries)
	c.entries = c.entries[:0]
}

// reset forgets every entry and service id.
func (c *spanCache) reset() {
	c.resetEntries()
	clear(c.services)
}

func (c *spanCache) len() int { return len(c.entries) }
