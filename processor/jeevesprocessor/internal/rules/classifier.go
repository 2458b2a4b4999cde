// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fallback is where a label value comes from when no attribute gives one.
type fallback uint8

const (
	fallbackNone   fallback = iota
	fallbackStatus          // the span status
	fallbackSuffix          // the span name after the matched prefix
)

// transform is how a label value is normalised.
type transform uint8

const (
	transformNone transform = iota
	transformLower
	transformSnake
	transformFirstWord
	transformHTTPMethod
	transformURLPath
)

// source is a compiled Field: where one label or number comes from.
type source struct {
	then      *source
	slots     []uint16 // attributes, in order of preference
	fallback  fallback
	transform transform
	numeric   bool
	def       string
}

type condition struct {
	slot   uint16
	values []string
}

type compiledRule struct {
	family     Family
	kinds      uint8  // bit k set: matches span kind k; 0 matches every kind
	keys       keySet // attributes read by this rule's fields and dimensions
	exact      []string
	prefixes   []string
	exExact    []string
	exPrefixes []string
	conds      []condition
	fields     []source
	attrFields uint32
}

// Classifier applies compiled rules to spans. It keeps scratch state, so one
// Classifier must not be used by two goroutines at once.
type Classifier struct {
	rules []compiledRule
	// byFirstByte lists, in order, the rules that may match a span name
	// starting with a given byte, and forEmptyName those that may match "":
	// most rules are ruled out without comparing names.
	byFirstByte  [256][]int32
	forEmptyName []int32
	// condKeys are the attributes any rule condition reads: the only ones
	// scanned for a span until a rule matches.
	condKeys keySet
	dimNames [familyCount][]string

	// values holds, by slot, the attributes of the span being classified
	// that seen marks; seen starts over for each span.
	values []pcommon.Value
	seen   marks
	// scanned marks the slots one scan has met, so a key repeated in a
	// span's attributes is taken once, like pcommon.Map.Get does.
	scanned marks
}

// marks records which slots were marked in the current round. A new round
// forgets every mark without clearing them: a mark is the round's number.
type marks struct {
	round []uint32
	cur   uint32
}

func newMarks(n int) marks { return marks{round: make([]uint32, n)} }

// next starts a new round.
func (m *marks) next() {
	m.cur++
	if m.cur == 0 { // wrapped: old marks would count again
		clear(m.round)
		m.cur = 1
	}
}

func (m *marks) mark(slot uint16)     { m.round[slot] = m.cur }
func (m *marks) has(slot uint16) bool { return m.round[slot] == m.cur }

// Match is the result of Classify. Its label values are not copied: they
// point into the span's attributes or into a scratch buffer that the next
// Classify call with the same Match overwrites, so they must be copied
// (strings.Clone, or into a key) to outlive it.
type Match struct {
	Family Family
	// Rule is the index of the matched rule in the compiled rule list, or
	// NoRule.
	Rule int
	// AttrFields has bit i set when label field i may come from an
	// attribute. The other label fields are a function of the rule, the span
	// name and the span status alone, so a cache keyed on those may skip them.
	AttrFields uint32
	n          int
	buf        []byte
	vals       [maxFields]string
	has        [maxFields]bool
	nums       [maxFields]int64
}

// Value returns the label value of field i ("" for numeric fields).
func (m *Match) Value(i int) string { return m.vals[i] }

// Num returns the numeric value of field i and whether it was present.
func (m *Match) Num(i int) (int64, bool) { return m.nums[i], m.has[i] }

// Len returns the number of fields, fixed fields first, then dimensions.
func (m *Match) Len() int { return m.n }

// DimensionNames returns the extra dimension names of a family, in field order
// after the fixed fields.
func (c *Classifier) DimensionNames(f Family) []string { return c.dimNames[f] }

// Classify finds the first rule that matches the span and fills m with the
// family and its field values. It returns false when no rule matches.
func (c *Classifier) Classify(spanName string, kind ptrace.SpanKind, isError bool, attrs pcommon.Map, m *Match) bool {
	c.seen.next()
	condsScanned := false
	for _, i := range c.candidates(spanName) {
		r := &c.rules[i]
		if r.kinds != 0 && (kind < 0 || kind > 7 || r.kinds&(1<<uint(kind)) == 0) {
			continue
		}
		suffixAt, ok := r.matchName(spanName)
		if !ok {
			continue
		}
		if len(r.conds) > 0 {
			if !condsScanned {
				c.scan(attrs, &c.condKeys)
				condsScanned = true
			}
			if !c.condsHold(r.conds) {
				continue
			}
		}
		c.scan(attrs, &r.keys)
		m.Rule = int(i)
		c.fill(r, spanName, suffixAt, isError, m)
		return true
	}
	m.Family, m.Rule, m.AttrFields, m.n = FamilyNone, NoRule, 0, 0
	return false
}

// scan records the span's values of the attributes in ks, in one pass.
func (c *Classifier) scan(attrs pcommon.Map, ks *keySet) {
	if ks.empty() {
		return
	}
	c.scanned.next()
	found := 0
	for k, v := range attrs.All() {
		if !ks.mayHoldLen(len(k)) {
			continue
		}
		h := keyHash(k)
		if !ks.mayHoldHash(h) {
			continue
		}
		e := ks.find(k, h)
		if e == nil || c.scanned.has(e.slot) {
			continue // not read by the rules, or a repeated key: the first wins
		}
		c.scanned.mark(e.slot)
		c.seen.mark(e.slot)
		c.values[e.slot] = v
		// A first choice with a usable value settles its field: when every
		// field is settled, the remaining attributes cannot change the result.
		if e.primary && usable(v) {
			if found++; found == ks.primaries {
				return
			}
		}
	}
}

// usable reports whether v yields a value (a non-empty string or a scalar).
func usable(v pcommon.Value) bool {
	if v.Str() != "" { // Str is "" for every other type
		return true
	}
	switch v.Type() {
	case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return true
	}
	return false
}

// candidates returns the rules that may match the span name, in order.
func (c *Classifier) candidates(spanName string) []int32 {
	if spanName == "" {
		return c.forEmptyName
	}
	return c.byFirstByte[spanName[0]]
}

// matchName reports whether the span name matches, and where the suffix
// after a matched `prefix*` starts: noSuffix for an exact match or a rule
// without span names.
func (r *compiledRule) matchName(name string) (suffixAt int, ok bool) {
	for _, e := range r.exExact {
		if name == e {
			return noSuffix, false
		}
	}
	for _, p := range r.exPrefixes {
		if strings.HasPrefix(name, p) {
			return noSuffix, false
		}
	}
	if len(r.exact) == 0 && len(r.prefixes) == 0 {
		return noSuffix, true
	}
	for _, e := range r.exact {
		if name == e {
			return noSuffix, true
		}
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(name, p) {
			return len(p), true
		}
	}
	return noSuffix, false
}

// condsHold reports whether every condition holds for the span: its
// attribute is present and, when the condition lists values, a string equal
// to one of them.
func (c *Classifier) condsHold(conds []condition) bool {
	for _, cond := range conds {
		if !c.seen.has(cond.slot) {
			return false
		}
		if len(cond.values) == 0 {
			continue
		}
		v := c.values[cond.slot]
		if v.Type() != pcommon.ValueTypeStr || !slices.Contains(cond.values, v.Str()) {
			return false
		}
	}
	return true
}

func (c *Classifier) fill(r *compiledRule, spanName string, suffixAt int, isError bool, m *Match) {
	m.Family = r.family
	m.AttrFields = r.attrFields
	m.n = len(r.fields)
	m.buf = m.buf[:0]
	for i := range r.fields {
		src := &r.fields[i]
		if src.numeric {
			m.vals[i] = ""
			m.nums[i], m.has[i] = c.number(src)
			continue
		}
		m.nums[i] = 0
		m.vals[i] = c.value(src, spanName, suffixAt, isError, m)
		m.has[i] = m.vals[i] != ""
	}
}

// value returns the value of src: its first present non-empty attribute,
// else its `then` source, else its fallback, else its default. Untransformed
// strings are returned as they are (no copy); everything else is written to
// m.buf and returned as a string over those bytes.
func (c *Classifier) value(src *source, spanName string, suffixAt int, isError bool, m *Match) string {
	for _, s := range src.slots {
		if !c.seen.has(s) {
			continue
		}
		v := c.values[s]
		if src.transform == transformNone {
			if str := v.Str(); str != "" {
				return str
			}
			if v.Type() == pcommon.ValueTypeStr {
				continue // empty string: try the next attribute
			}
		}
		start := len(m.buf)
		m.buf = appendValue(m.buf, v, src.transform)
		if len(m.buf) > start {
			return bytesString(m.buf[start:])
		}
	}
	if src.then != nil {
		if str := c.value(src.then, spanName, suffixAt, isError, m); str != "" {
			return str
		}
	}
	if src.fallback != fallbackNone {
		if str := fallbackValue(src, spanName, suffixAt, isError, m); str != "" {
			return str
		}
	}
	return src.def
}

// fallbackValue returns the value of src's fallback, or "" when it gives
// none (the span name has no suffix after the matched prefix).
func fallbackValue(src *source, spanName string, suffixAt int, isError bool, m *Match) string {
	switch src.fallback {
	case fallbackStatus:
		if isError {
			return statusError
		}
		return statusSuccess
	case fallbackSuffix:
		if suffixAt == noSuffix || suffixAt >= len(spanName) {
			return ""
		}
		if src.transform == transformNone {
			return spanName[suffixAt:]
		}
		start := len(m.buf)
		m.buf = appendTransformed(m.buf, spanName[suffixAt:], src.transform)
		return bytesString(m.buf[start:])
	}
	return ""
}

// bytesString views b as a string without copying. b must not be written to
// while the string is in use: Match only appends to its buffer during one
// Classify call and resets it at the next one.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (c *Classifier) number(src *source) (int64, bool) {
	for _, s := range src.slots {
		if !c.seen.has(s) {
			continue
		}
		v := c.values[s]
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return v.Int(), true
		case pcommon.ValueTypeDouble:
			d := v.Double()
			if math.IsNaN(d) || math.IsInf(d, 0) {
				continue
			}
			return int64(d), true
		case pcommon.ValueTypeStr:
			if n, err := strconv.ParseInt(v.Str(), 10, 64); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

func appendValue(buf []byte, v pcommon.Value, t transform) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendTransformed(buf, v.Str(), t)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return strconv.AppendFloat(buf, v.Double(), 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	}
	return buf
}

func appendTransformed(buf []byte, s string, t transform) []byte {
	switch t {
	case transformLower:
		return appendLower(buf, s)
	case transformSnake:
		return appendSnake(buf, s)
	case transformFirstWord:
		return appendFirstWordLower(buf, s)
	case transformHTTPMethod:
		return appendHTTPMethod(buf, s)
	case transformURLPath:
		return appendURLPath(buf, s)
	}
	return append(buf, s...)
}
