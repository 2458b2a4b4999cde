// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxFields bounds the fields of one family: its fixed fields plus extra dimensions.
const MaxFields = 16

// MaxAttributeKeyBytes bounds the attribute keys that rules and dimensions may read.
const MaxAttributeKeyBytes = 256

// MaxDimensions is the number of extra dimensions a family accepts.
const MaxDimensions = MaxFields - 5

const (
	fallbackNone uint8 = iota
	fallbackStatus
	fallbackSuffix
)

const (
	transformNone uint8 = iota
	transformLower
	transformSnake
	transformFirstWord
)

type source struct {
	then      *source
	slots     []uint16
	fallback  uint8
	transform uint8
	numeric   bool
	def       string
}

type condition struct {
	slot   uint16
	values []string
}

type compiledRule struct {
	family     Family
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
	rules    []compiledRule
	keyIndex map[string]uint16
	keyNames []string
	// condKeys are the attributes any rule condition reads: the only ones
	// scanned for a span until a rule matches.
	condKeys keySet
	dimNames [familyCount][]string

	values []pcommon.Value
	seen   []uint32
	gen    uint32
	// scanned marks the slots one scan has met (scanGen), so a key repeated
	// in a span's attributes is taken once, like pcommon.Map.Get does.
	scanned []uint32
	scanGen uint32
}

// Match is the result of Classify. Its label values are not copied: they
// point into the span's attributes or into a scratch buffer that the next
// Classify call with the same Match overwrites, so they must be copied
// (strings.Clone, or into a key) to outlive it.
type Match struct {
	Family Family
	// Rule is the index of the matched rule in the compiled rule list.
	Rule int
	// AttrFields has bit i set when label field i may come from an
	// attribute. The other label fields are a function of the rule, the span
	// name and the span status alone, so a cache keyed on those may skip them.
	AttrFields uint32
	n          int
	buf        []byte
	vals       [MaxFields]string
	has        [MaxFields]bool
	nums       [MaxFields]int64
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

// Compile checks and precompiles rules and per-family extra dimensions.
func Compile(ruleList []Rule, dims map[string][]Dimension) (*Classifier, error) {
	c := &Classifier{keyIndex: map[string]uint16{}}
	var errs []error
	defaults := defaultFields()

	familyDims := [familyCount][]Dimension{}
	dimNames := make([]string, 0, len(dims))
	for name := range dims {
		dimNames = append(dimNames, name)
	}
	sort.Strings(dimNames)
	for _, name := range dimNames {
		f, ok := FamilyNames[name]
		if !ok {
			errs = append(errs, fmt.Errorf("metrics.families: unknown family %q, want one of pipeline, agent, llm, db, interrupt", name))
			continue
		}
		ds := dims[name]
		if len(ds) > MaxDimensions {
			errs = append(errs, fmt.Errorf("metrics.families.%s.dimensions: at most %d dimensions, got %d", name, MaxDimensions, len(ds)))
			continue
		}
		seen := map[string]bool{}
		for _, fixed := range familyFields[f] {
			seen[fixed] = true
		}
		for i, d := range ds {
			switch {
			case d.Name == "":
				errs = append(errs, fmt.Errorf("metrics.families.%s.dimensions[%d].name must not be empty", name, i))
			case seen[d.Name] || d.Name == "type":
				errs = append(errs, fmt.Errorf("metrics.families.%s.dimensions[%d].name %q is already a label of the family", name, i, d.Name))
			case len(d.Attributes) == 0:
				errs = append(errs, fmt.Errorf("metrics.families.%s.dimensions[%d].attributes must not be empty", name, i))
			}
			seen[d.Name] = true
			c.dimNames[f] = append(c.dimNames[f], d.Name)
		}
		familyDims[f] = ds
	}

	for i, r := range ruleList {
		where := r.Origin
		if where == "" {
			where = fmt.Sprintf("rules[%d]", i)
		}
		f, ok := FamilyNames[r.Family]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.family must be one of pipeline, agent, llm, db, interrupt, got %q", where, r.Family))
			continue
		}
		if len(r.SpanNames) == 0 && len(r.When) == 0 {
			errs = append(errs, fmt.Errorf("%s needs span_names or when, otherwise it matches every span", where))
		}
		cr := compiledRule{family: f}
		for _, n := range r.SpanNames {
			if p, ok := strings.CutSuffix(n, "*"); ok {
				cr.prefixes = append(cr.prefixes, p)
			} else {
				cr.exact = append(cr.exact, n)
			}
		}
		for _, n := range r.ExcludeSpanNames {
			if p, ok := strings.CutSuffix(n, "*"); ok {
				cr.exPrefixes = append(cr.exPrefixes, p)
			} else {
				cr.exExact = append(cr.exExact, n)
			}
		}
		for j, cond := range r.When {
			if cond.Attribute == "" {
				errs = append(errs, fmt.Errorf("%s.when[%d].attribute must not be empty", where, j))
				continue
			}
			cr.conds = append(cr.conds, condition{slot: c.slot(cond.Attribute), values: cond.Values})
		}
		for name := range r.Fields {
			if _, known := defaults[f][name]; !known {
				errs = append(errs, fmt.Errorf("%s.fields: unknown field %q for family %s, want one of %s", where, name, r.Family, strings.Join(familyFields[f], ", ")))
			}
		}
		for _, name := range familyFields[f] {
			fld, ok := r.Fields[name]
			if !ok {
				fld = defaults[f][name]
			}
			src, err := c.compileField(fld, numericFields[name])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.fields.%s: %w", where, name, err))
			}
			cr.fields = append(cr.fields, src)
		}
		for _, d := range familyDims[f] {
			src := source{def: d.Default}
			for _, a := range d.Attributes {
				src.slots = append(src.slots, c.slot(a))
			}
			cr.fields = append(cr.fields, src)
		}
		for j := range cr.fields {
			if cr.fields[j].numeric {
				continue
			}
			for src := &cr.fields[j]; src != nil; src = src.then {
				if len(src.slots) > 0 {
					cr.attrFields |= 1 << j
				}
			}
		}
		c.rules = append(c.rules, cr)
	}
	// The attribute scan indexes keys by length below MaxAttributeKeyBytes; a longer key could
	// never match, so it is a configuration error rather than a rule that silently never applies.
	for _, key := range c.keyNames {
		if len(key) >= MaxAttributeKeyBytes {
			errs = append(errs, fmt.Errorf("metrics: attribute key %.40q… is %d bytes; keys must be shorter than %d bytes", key, len(key), MaxAttributeKeyBytes))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	condKeys := map[string]uint16{}
	for i := range c.rules {
		r := &c.rules[i]
		for _, cond := range r.conds {
			condKeys[c.keyNames[cond.slot]] = cond.slot
		}
		fieldKeys := map[string]uint16{}
		primary := map[string]bool{}
		for j := range r.fields {
			if sl := r.fields[j].slots; len(sl) > 0 {
				primary[c.keyNames[sl[0]]] = true
			}
			for src := &r.fields[j]; src != nil; src = src.then {
				for _, sl := range src.slots {
					fieldKeys[c.keyNames[sl]] = sl
				}
			}
		}
		r.keys = newKeySet(fieldKeys, primary)
	}
	c.condKeys = newKeySet(condKeys, nil)
	c.values = make([]pcommon.Value, len(c.keyIndex))
	c.seen = make([]uint32, len(c.keyIndex))
	c.scanned = make([]uint32, len(c.keyIndex))
	return c, nil
}

func (c *Classifier) slot(key string) uint16 {
	if s, ok := c.keyIndex[key]; ok {
		return s
	}
	s := uint16(len(c.keyIndex))
	c.keyIndex[key] = s
	c.keyNames = append(c.keyNames, key)
	return s
}

func (c *Classifier) compileField(f Field, numeric bool) (source, error) {
	src := source{def: f.Default, numeric: numeric}
	for _, a := range f.Attributes {
		src.slots = append(src.slots, c.slot(a))
	}
	if f.Then != nil {
		then, err := c.compileField(*f.Then, numeric)
		if err != nil {
			return src, fmt.Errorf("then: %w", err)
		}
		src.then = &then
	}
	switch f.Fallback {
	case "":
	case FallbackSpanStatus:
		src.fallback = fallbackStatus
	case FallbackSpanNameSuffix:
		src.fallback = fallbackSuffix
	default:
		return src, fmt.Errorf("fallback must be one of span_status, span_name_suffix or empty, got %q", f.Fallback)
	}
	switch f.Transform {
	case "":
	case TransformLower:
		src.transform = transformLower
	case TransformSnake:
		src.transform = transformSnake
	case TransformFirstWordLower:
		src.transform = transformFirstWord
	default:
		return src, fmt.Errorf("transform must be one of lower, snake, first_word_lower or empty, got %q", f.Transform)
	}
	return src, nil
}

// Classify finds the first rule that matches the span and fills m with the
// family and its field values. It returns false when no rule matches.
func (c *Classifier) Classify(spanName string, isError bool, attrs pcommon.Map, m *Match) bool {
	c.gen++
	if c.gen == 0 { // wrapped: forget every slot
		clear(c.seen)
		c.gen = 1
	}
	condsScanned := false
	for i := range c.rules {
		r := &c.rules[i]
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
		m.Rule = i
		c.fill(r, spanName, suffixAt, isError, m)
		return true
	}
	m.Family, m.Rule, m.AttrFields, m.n = FamilyNone, -1, 0, 0
	return false
}

// scan records the span's values of the attributes in ks, in one pass.
func (c *Classifier) scan(attrs pcommon.Map, ks *keySet) {
	if ks.empty {
		return
	}
	c.scanGen++
	if c.scanGen == 0 { // wrapped: forget every slot
		clear(c.scanned)
		c.scanGen = 1
	}
	found := 0
	for k, v := range attrs.All() {
		n := len(k)
		if n >= MaxAttributeKeyBytes || ks.lens[n/64]&(1<<(n%64)) == 0 {
			continue
		}
		e := ks.table.find(k)
		if e == nil || c.scanned[e.slot] == c.scanGen {
			continue // not read by the rules, or a repeated key: the first wins
		}
		c.scanned[e.slot] = c.scanGen
		c.values[e.slot] = v
		c.seen[e.slot] = c.gen
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

// matchName reports whether the span name matches, and where a matched
// prefix ends (-1 for an exact match or no name filter).
func (r *compiledRule) matchName(name string) (int, bool) {
	for _, e := range r.exExact {
		if name == e {
			return 0, false
		}
	}
	for _, p := range r.exPrefixes {
		if strings.HasPrefix(name, p) {
			return 0, false
		}
	}
	if len(r.exact) == 0 && len(r.prefixes) == 0 {
		return -1, true
	}
	for _, e := range r.exact {
		if name == e {
			return -1, true
		}
	}
	for _, p := range r.prefixes {
		if strings.HasPrefix(name, p) {
			return len(p), true
		}
	}
	return 0, false
}

func (c *Classifier) condsHold(conds []condition) bool {
	for _, cond := range conds {
		if c.seen[cond.slot] != c.gen {
			return false
		}
		if len(cond.values) == 0 {
			continue
		}
		v := c.values[cond.slot]
		if v.Type() != pcommon.ValueTypeStr {
			return false
		}
		s := v.Str()
		found := false
		for _, want := range cond.values {
			if s == want {
				found = true
				break
			}
		}
		if !found {
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
		if c.seen[s] != c.gen {
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
	switch src.fallback {
	case fallbackStatus:
		if isError {
			return "error"
		}
		return "success"
	case fallbackSuffix:
		if suffixAt >= 0 && suffixAt < len(spanName) {
			if src.transform == transformNone {
				return spanName[suffixAt:]
			}
			start := len(m.buf)
			m.buf = appendTransformed(m.buf, spanName[suffixAt:], src.transform)
			if len(m.buf) > start {
				return bytesString(m.buf[start:])
			}
		}
	}
	return src.def
}

// bytesString views b as a string without copying. b must not be written to
// while the string is in use: Match only appends to its buffer during one
// Classify call and resets it at the next one.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (c *Classifier) number(src *source) (int64, bool) {
	for _, s := range src.slots {
		if c.seen[s] != c.gen {
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

func appendValue(buf []byte, v pcommon.Value, transform uint8) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendTransformed(buf, v.Str(), transform)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(buf, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return strconv.AppendFloat(buf, v.Double(), 'g', -1, 64)
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(buf, v.Bool())
	}
	return buf
}

func appendTransformed(buf []byte, s string, transform uint8) []byte {
	switch transform {
	case transformLower:
		return AppendLower(buf, s)
	case transformSnake:
		return AppendSnake(buf, s)
	case transformFirstWord:
		return AppendFirstWordLower(buf, s)
	}
	return append(buf, s...)
}
