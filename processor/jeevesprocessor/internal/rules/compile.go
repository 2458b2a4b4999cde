// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Compile checks and precompiles rules and per-family extra dimensions. It
// reports every configuration problem at once: dimensions first, then rules,
// then attribute keys.
func Compile(ruleList []Rule, dims map[string][]Dimension) (*Classifier, error) {
	cp := compiler{slots: map[string]uint16{}, defaults: defaultFields()}
	familyDims, dimNames := cp.compileDimensions(dims)
	compiled := cp.compileRules(ruleList, familyDims)
	cp.checkKeyLengths()
	if len(cp.errs) > 0 {
		return nil, errors.Join(cp.errs...)
	}
	return cp.newClassifier(compiled, dimNames), nil
}

// compiler holds what Compile needs while it runs: the attribute slots handed
// out so far and the problems found.
type compiler struct {
	slots    map[string]uint16 // attribute key → slot
	keyNames []string          // slot → attribute key
	defaults [familyCount]map[string]Field
	errs     []error
}

func (cp *compiler) fail(format string, args ...any) {
	cp.errs = append(cp.errs, fmt.Errorf(format, args...))
}

// slot returns the slot of an attribute key, handing out the next one to a
// key not seen before.
func (cp *compiler) slot(key string) uint16 {
	if s, ok := cp.slots[key]; ok {
		return s
	}
	s := uint16(len(cp.keyNames))
	cp.slots[key] = s
	cp.keyNames = append(cp.keyNames, key)
	return s
}

// compileDimensions checks the extra dimensions of each family, in family
// name order, and returns them with their names by family.
func (cp *compiler) compileDimensions(dims map[string][]Dimension) (byFamily [familyCount][]Dimension, names [familyCount][]string) {
	for _, name := range slices.Sorted(maps.Keys(dims)) {
		f, ok := familyNames[name]
		if !ok {
			cp.fail("metrics.families: unknown family %q, want one of %s", name, familyList)
			continue
		}
		ds := dims[name]
		if len(ds) > maxDimensions {
			cp.fail("metrics.families.%s.dimensions: at most %d dimensions, got %d", name, maxDimensions, len(ds))
			continue
		}
		names[f] = cp.checkDimensions(name, f, ds)
		byFamily[f] = ds
	}
	return byFamily, names
}

// checkDimensions checks the dimensions of family f (configured as family)
// and returns their names.
func (cp *compiler) checkDimensions(family string, f Family, ds []Dimension) []string {
	taken := map[string]bool{tokensTypeLabel: true}
	for _, fixed := range familyFields[f] {
		taken[fixed] = true
	}
	var names []string
	for i, d := range ds {
		switch {
		case d.Name == "":
			cp.fail("metrics.families.%s.dimensions[%d].name must not be empty", family, i)
		case taken[d.Name]:
			cp.fail("metrics.families.%s.dimensions[%d].name %q is already a label of the family", family, i, d.Name)
		case len(d.Attributes) == 0:
			cp.fail("metrics.families.%s.dimensions[%d].attributes must not be empty", family, i)
		}
		taken[d.Name] = true
		names = append(names, d.Name)
	}
	return names
}

// compileRules compiles the rules in order, leaving out those with an
// unknown family.
func (cp *compiler) compileRules(ruleList []Rule, familyDims [familyCount][]Dimension) []compiledRule {
	compiled := make([]compiledRule, 0, len(ruleList))
	for i, r := range ruleList {
		where := r.Origin
		if where == "" {
			where = fmt.Sprintf("rules[%d]", i)
		}
		if cr, ok := cp.compileRule(where, r, familyDims); ok {
			compiled = append(compiled, cr)
		}
	}
	return compiled
}

// compileRule compiles one rule, named where in error messages. It reports
// false when the rule's family is unknown: nothing else about it can be
// checked then.
func (cp *compiler) compileRule(where string, r Rule, familyDims [familyCount][]Dimension) (compiledRule, bool) {
	f, ok := familyNames[r.Family]
	if !ok {
		cp.fail("%s.family must be one of %s, got %q", where, familyList, r.Family)
		return compiledRule{}, false
	}
	if len(r.SpanNames) == 0 && len(r.When) == 0 {
		cp.fail("%s needs span_names or when, otherwise it matches every span", where)
	}
	cr := compiledRule{family: f, kinds: cp.compileSpanKinds(where, r.SpanKinds)}
	cr.exact, cr.prefixes = splitSpanNames(r.SpanNames)
	cr.exExact, cr.exPrefixes = splitSpanNames(r.ExcludeSpanNames)
	cr.conds = cp.compileConditions(where, r.When)
	cr.fields = cp.compileFields(where, r, f)
	for _, d := range familyDims[f] {
		cr.fields = append(cr.fields, cp.dimensionSource(d))
	}
	cr.attrFields = attrFieldMask(cr.fields)
	return cr, true
}

// splitSpanNames splits span name patterns into exact names and the prefixes
// of `prefix*` patterns.
func splitSpanNames(patterns []string) (exact, prefixes []string) {
	for _, n := range patterns {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			prefixes = append(prefixes, p)
		} else {
			exact = append(exact, n)
		}
	}
	return exact, prefixes
}

// spanKindNames maps the span_kinds values to span kinds.
var spanKindNames = map[string]ptrace.SpanKind{
	"internal": ptrace.SpanKindInternal,
	"server":   ptrace.SpanKindServer,
	"client":   ptrace.SpanKindClient,
	"producer": ptrace.SpanKindProducer,
	"consumer": ptrace.SpanKindConsumer,
}

// compileSpanKinds returns the set of span kinds a rule matches, as a bit
// per kind; 0 matches every kind.
func (cp *compiler) compileSpanKinds(where string, kinds []string) uint8 {
	var set uint8
	for j, name := range kinds {
		k, ok := spanKindNames[name]
		if !ok {
			cp.fail("%s.span_kinds[%d] must be one of server, client, internal, producer, consumer, got %q", where, j, name)
			continue
		}
		set |= 1 << uint(k)
	}
	return set
}

func (cp *compiler) compileConditions(where string, when []Condition) []condition {
	var conds []condition
	for j, cond := range when {
		if cond.Attribute == "" {
			cp.fail("%s.when[%d].attribute must not be empty", where, j)
			continue
		}
		conds = append(conds, condition{slot: cp.slot(cond.Attribute), values: cond.Values})
	}
	return conds
}

// compileFields compiles the fixed fields of family f in index order, each
// from the rule's override or else the family default.
func (cp *compiler) compileFields(where string, r Rule, f Family) []source {
	for _, name := range slices.Sorted(maps.Keys(r.Fields)) {
		if _, known := cp.defaults[f][name]; !known {
			cp.fail("%s.fields: unknown field %q for family %s, want one of %s", where, name, r.Family, strings.Join(familyFields[f], ", "))
		}
	}
	fields := make([]source, 0, maxFields)
	for _, name := range familyFields[f] {
		fld, ok := r.Fields[name]
		if !ok {
			fld = cp.defaults[f][name]
		}
		src, err := cp.compileField(fld, numericFields[name])
		if err != nil {
			cp.fail("%s.fields.%s: %w", where, name, err)
		}
		fields = append(fields, src)
	}
	return fields
}

func (cp *compiler) compileField(f Field, numeric bool) (source, error) {
	src := source{def: f.Default, numeric: numeric, slots: cp.slotsOf(f.Attributes)}
	if f.Then != nil {
		then, err := cp.compileField(*f.Then, numeric)
		if err != nil {
			return src, fmt.Errorf("then: %w", err)
		}
		src.then = &then
	}
	var ok bool
	if src.fallback, ok = parseFallback(f.Fallback); !ok {
		return src, fmt.Errorf("fallback must be one of span_status, span_name_suffix or empty, got %q", f.Fallback)
	}
	if src.transform, ok = parseTransform(f.Transform); !ok {
		return src, fmt.Errorf("transform must be one of lower, snake, first_word_lower, http_method, url_path or empty, got %q", f.Transform)
	}
	return src, nil
}

func parseFallback(name string) (fallback, bool) {
	switch name {
	case "":
		return fallbackNone, true
	case fallbackSpanStatusName:
		return fallbackStatus, true
	case fallbackSpanNameSuffixName:
		return fallbackSuffix, true
	}
	return fallbackNone, false
}

func parseTransform(name string) (transform, bool) {
	switch name {
	case "":
		return transformNone, true
	case transformLowerName:
		return transformLower, true
	case transformSnakeName:
		return transformSnake, true
	case transformFirstWordLowerName:
		return transformFirstWord, true
	case transformHTTPMethodName:
		return transformHTTPMethod, true
	case transformURLPathName:
		return transformURLPath, true
	}
	return transformNone, false
}

func (cp *compiler) dimensionSource(d Dimension) source {
	return source{def: d.Default, slots: cp.slotsOf(d.Attributes)}
}

func (cp *compiler) slotsOf(keys []string) []uint16 {
	var slots []uint16
	for _, k := range keys {
		slots = append(slots, cp.slot(k))
	}
	return slots
}

// attrFieldMask has bit i set when label field i may come from an attribute.
func attrFieldMask(fields []source) uint32 {
	var mask uint32
	for i := range fields {
		if fields[i].numeric {
			continue
		}
		for src := &fields[i]; src != nil; src = src.then {
			if len(src.slots) > 0 {
				mask |= 1 << i
			}
		}
	}
	return mask
}

// checkKeyLengths reports attribute keys the scan could never match: keys
// are indexed by length below MaxAttributeKeyBytes, and a longer key is a
// configuration error rather than a rule that silently never applies.
func (cp *compiler) checkKeyLengths() {
	for _, key := range cp.keyNames {
		if len(key) >= MaxAttributeKeyBytes {
			cp.fail("metrics: attribute key %.40q… is %d bytes; keys must be shorter than %d bytes", key, len(key), MaxAttributeKeyBytes)
		}
	}
}

// newClassifier builds, for rules that compiled without error, the rule lists
// by first byte of span name, the key sets the attribute scans look keys up
// in, and the scratch state.
func (cp *compiler) newClassifier(compiled []compiledRule, dimNames [familyCount][]string) *Classifier {
	n := len(cp.keyNames)
	c := &Classifier{
		rules:    compiled,
		dimNames: dimNames,
		condKeys: newKeySet(n),
		values:   make([]pcommon.Value, n),
		seen:     newMarks(n),
		scanned:  newMarks(n),
	}
	for i := range c.rules {
		r := &c.rules[i]
		c.addCandidate(int32(i), r)
		for _, cond := range r.conds {
			c.condKeys.add(cp.keyNames[cond.slot], cond.slot, false)
		}
		r.keys = cp.fieldKeys(r.fields)
	}
	return c
}

// fieldKeys returns the key set of the attributes fields read; the first
// attribute of each field (not of its `then` source) is primary.
func (cp *compiler) fieldKeys(fields []source) keySet {
	ks := newKeySet(len(cp.keyNames))
	for j := range fields {
		for src := &fields[j]; src != nil; src = src.then {
			for k, sl := range src.slots {
				ks.add(cp.keyNames[sl], sl, src == &fields[j] && k == 0)
			}
		}
	}
	return ks
}

// addCandidate lists rule i under the first bytes of the span names it may
// match: every byte and the empty name for a rule without span names or with
// an empty name or a bare "*".
func (c *Classifier) addCandidate(i int32, r *compiledRule) {
	if len(r.exact) == 0 && len(r.prefixes) == 0 || slices.Contains(r.exact, "") || slices.Contains(r.prefixes, "") {
		c.forEmptyName = append(c.forEmptyName, i)
		for b := range c.byFirstByte {
			c.byFirstByte[b] = append(c.byFirstByte[b], i)
		}
		return
	}
	var first byteSet
	for _, n := range slices.Concat(r.exact, r.prefixes) {
		first.add(n[0])
	}
	for b := range c.byFirstByte {
		if first.has(uint8(b)) {
			c.byFirstByte[b] = append(c.byFirstByte[b], i)
		}
	}
}
