package sampler

import (
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
)

// This file reads and rewrites the `ot=` entry of a W3C tracestate (OTEP 235).
//
// pkg/sampling's W3CTraceState parser allocates as soon as the tracestate holds another vendor's entry
// and its serializer reorders sub-keys, so the scanning and rewriting here are our own: reading never
// allocates, and a rewrite changes only the `th` sub-key and moves `ot` to the front, as W3C asks of
// a modified entry. The threshold and randomness values themselves are parsed with pkg/sampling.

// maxTraceStateMembers is the W3C limit on list members.
const maxTraceStateMembers = 32

// incoming is what a span's tracestate says about sampling before we touch it.
type incoming struct {
	rnd       sampling.Randomness
	threshold sampling.Threshold
	hasRV     bool
	hasTH     bool
	// malformed is set when an rv or th sub-key is present but does not parse; it is then ignored.
	malformed bool
}

// readTraceState extracts the rv and th sub-keys of the `ot` entry. It never allocates on valid input.
func readTraceState(ts string) incoming {
	var in incoming
	if ts == "" {
		return in
	}
	ot, ok := otValue(ts)
	if !ok {
		return in
	}
	if rv, ok := otSubKey(ot, "rv"); ok {
		rnd, err := sampling.RValueToRandomness(rv)
		if err == nil {
			in.rnd, in.hasRV = rnd, true
		} else {
			in.malformed = true
		}
	}
	if tv, ok := otSubKey(ot, "th"); ok {
		th, err := sampling.TValueToThreshold(tv)
		if err == nil {
			in.threshold, in.hasTH = th, true
		} else {
			in.malformed = true
		}
	}
	return in
}

// nextMember splits the first comma-separated member off a tracestate, trimming optional whitespace.
func nextMember(ts string) (member, rest string) {
	if i := strings.IndexByte(ts, ','); i >= 0 {
		member, rest = ts[:i], ts[i+1:]
	} else {
		member = ts
	}
	return strings.Trim(member, " \t"), rest
}

// otValue returns the value of the first `ot` member.
func otValue(ts string) (string, bool) {
	for ts != "" {
		var m string
		m, ts = nextMember(ts)
		if v, ok := strings.CutPrefix(m, "ot="); ok {
			return v, true
		}
	}
	return "", false
}

// otSubKey returns the value of the first `key:` sub-key of an ot value.
func otSubKey(ot, key string) (string, bool) {
	for ot != "" {
		var sub string
		if i := strings.IndexByte(ot, ';'); i >= 0 {
			sub, ot = ot[:i], ot[i+1:]
		} else {
			sub, ot = ot, ""
		}
		if len(sub) > len(key) && sub[len(key)] == ':' && sub[:len(key)] == key {
			return sub[len(key)+1:], true
		}
	}
	return "", false
}

// withThreshold returns ts with the ot entry's th sub-key set to tvalue: the ot entry first (created
// if absent, its other sub-keys kept in order), then every other member unchanged in order, at most 32
// members. Empty members and sub-keys and whitespace around members are dropped, so applying it twice gives the
// same string as applying it once.
func withThreshold(ts, tvalue string) string {
	var b strings.Builder
	b.Grow(len(ts) + len(tvalue) + len("ot=th:;,"))
	ot, _ := otValue(ts)
	writeOTEntry(&b, ot, tvalue)
	writeOtherMembers(&b, ts)
	return b.String()
}

// writeOTEntry writes the ot entry with th set to tvalue. An existing th is
// replaced in place; a new th goes right after rv, else first: the order
// pkg/sampling serializes, so both agree byte for byte on common inputs.
func writeOTEntry(b *strings.Builder, ot, tvalue string) {
	b.WriteString("ot=")
	_, hasTH := otSubKey(ot, "th")
	_, hasRV := otSubKey(ot, "rv")
	first, wrote := true, false
	writeTH := func() {
		if !first {
			b.WriteByte(';')
		}
		b.WriteString("th:")
		b.WriteString(tvalue)
		first, wrote = false, true
	}
	if !hasTH && !hasRV {
		writeTH()
	}
	for ot != "" {
		var sub string
		if i := strings.IndexByte(ot, ';'); i >= 0 {
			sub, ot = ot[:i], ot[i+1:]
		} else {
			sub, ot = ot, ""
		}
		sub = strings.Trim(sub, " \t")
		isTH := strings.HasPrefix(sub, "th:")
		if sub == "" || (isTH && wrote) {
			continue // empty, or a duplicate th that would contradict the one we write
		}
		if isTH {
			writeTH()
			continue
		}
		if !first {
			b.WriteByte(';')
		}
		first = false
		b.WriteString(sub)
		if !wrote && !hasTH && strings.HasPrefix(sub, "rv:") {
			writeTH()
		}
	}
}

// writeOtherMembers writes every non-ot member of ts after the ot entry, in
// order, up to the W3C limit of members.
func writeOtherMembers(b *strings.Builder, ts string) {
	members := 1
	for rest := ts; rest != ""; {
		var m string
		m, rest = nextMember(rest)
		if m == "" || strings.HasPrefix(m, "ot=") {
			continue
		}
		if members == maxTraceStateMembers {
			break // W3C: drop from the right when the list is full
		}
		b.WriteByte(',')
		b.WriteString(m)
		members++
	}
}
