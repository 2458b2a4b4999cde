package sampler

import (
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const rvHigh = "ffffffffffffff" // randomness every threshold keeps

// TestApplyStampMerge covers the tracestate a kept span leaves with, stamped at 10% (th:e666).
func TestApplyStampMerge(t *testing.T) {
	th, err := threshold(10, 4)
	require.NoError(t, err)
	s := newStamp(th)
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "ot=th:e666"},
		{"other vendor", "vendor=x", "ot=th:e666,vendor=x"},
		{"other vendors keep order", "a=1, b=2 ,c=3", "ot=th:e666,a=1,b=2,c=3"},
		{"ot with rv", "ot=rv:" + rvHigh, "ot=rv:" + rvHigh + ";th:e666"},
		{"ot with rv and vendor", "congo=t61rcWkgMzE,ot=rv:" + rvHigh, "ot=rv:" + rvHigh + ";th:e666,congo=t61rcWkgMzE"},
		{"ot with other sub-key then rv", "ot=k:v;rv:" + rvHigh, "ot=k:v;rv:" + rvHigh + ";th:e666"},
		{"ot with other sub-key only", "ot=k:v", "ot=th:e666;k:v"},
		{"lower th is raised", "ot=th:c;rv:" + rvHigh + ";x:y", "ot=th:e666;rv:" + rvHigh + ";x:y"},
		{"lower th moved to front", "a=1,ot=rv:" + rvHigh + ";th:8,b=2", "ot=rv:" + rvHigh + ";th:e666,a=1,b=2"},
		{"th:0 is raised", "ot=th:0", "ot=th:e666"},
		{"equal th unchanged", "x=1,ot=th:e666", "x=1,ot=th:e666"},
		{"higher th kept (equalizing)", "ot=th:f;rv:" + rvHigh, "ot=th:f;rv:" + rvHigh},
		{"higher th with vendor kept", "a=1,ot=th:fd70a", "a=1,ot=th:fd70a"},
		{"malformed th replaced", "ot=th:zz;rv:" + rvHigh, "ot=th:e666;rv:" + rvHigh},
		{"duplicate th collapsed", "ot=th:1;th:2", "ot=th:e666"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.TraceState().FromRaw(tc.in)
			applyStamp(span.TraceState(), tc.in, readTraceState(tc.in), s)
			assert.Equal(t, tc.want, span.TraceState().AsRaw())
		})
	}
}

func TestReadTraceState(t *testing.T) {
	in := readTraceState("a=b, ot=th:e666;rv:0123456789abcd;k:v ,c=d")
	assert.True(t, in.hasTH)
	assert.True(t, in.hasRV)
	assert.False(t, in.malformed)
	assert.Equal(t, uint64(0xe666)<<40, in.threshold.Unsigned())
	assert.Equal(t, uint64(0x0123456789abcd), in.rnd.Unsigned())

	in = readTraceState("ot=rv:123;th:")
	assert.False(t, in.hasTH)
	assert.False(t, in.hasRV)
	assert.True(t, in.malformed)

	in = readTraceState("xot=th:8,bot=rv:" + rvHigh)
	assert.Equal(t, incoming{}, in)
}

func TestWithThresholdDropsBeyond32Members(t *testing.T) {
	var b strings.Builder
	for i := range 32 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("k")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteString("=v")
	}
	out := withThreshold(b.String(), "e666")
	members := strings.Split(out, ",")
	require.Len(t, members, 32)
	assert.Equal(t, "ot=th:e666", members[0])
	assert.Equal(t, "keb=v", members[31]) // input member 31 (i=30); member 32 was dropped
}

func TestReadTraceStateNoAllocs(t *testing.T) {
	ts := "vendor=x,ot=th:e666;rv:0123456789abcd,other=y"
	allocs := testing.AllocsPerRun(100, func() { _ = readTraceState(ts) })
	assert.Equal(t, 0.0, allocs)
}

// FuzzTraceState checks that reading and rewriting any tracestate never panics, that a rewrite sets
// th, keeps rv and every other member, is idempotent, and that whenever pkg/sampling's strict parser
// accepts the input, our reading of rv and th agrees with it.
func FuzzTraceState(f *testing.F) {
	for _, s := range []string{
		"", "ot=th:e666", "ot=rv:" + rvHigh, "a=1,ot=th:c;rv:" + rvHigh + ";x:y,b=2", "ot=th:zz",
		"ot=", "ot=;;", " , ot=th:1 ,", "ot=th:1;th:2", "ot=th:123456789abcdef", "vendor=x", "ot= th:1", "ot=rv:1; th:2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ts string) {
		in := readTraceState(ts)
		out := withThreshold(ts, "e666")
		got := readTraceState(out)
		if !got.hasTH || got.threshold.TValue() != "e666" {
			t.Fatalf("withThreshold(%q) = %q: th not e666", ts, out)
		}
		if got.hasRV != in.hasRV || got.rnd != in.rnd {
			t.Fatalf("withThreshold(%q) = %q: rv changed", ts, out)
		}
		if again := withThreshold(out, "e666"); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		var want []string
		for rest := ts; rest != ""; {
			var m string
			m, rest = nextMember(rest)
			if m != "" && !strings.HasPrefix(m, "ot=") && len(want) < maxTraceStateMembers-1 {
				want = append(want, m)
			}
		}
		var kept []string
		for rest := out; rest != ""; {
			var m string
			m, rest = nextMember(rest)
			if m != "" && !strings.HasPrefix(m, "ot=") {
				kept = append(kept, m)
			}
		}
		if strings.Join(want, ",") != strings.Join(kept, ",") {
			t.Fatalf("withThreshold(%q) = %q: other members changed", ts, out)
		}

		w3c, err := sampling.NewW3CTraceState(ts)
		if err != nil || strings.Count(ts, "ot=") > 1 || strings.Count(ts, "rv:") > 1 || strings.Count(ts, "th:") > 1 {
			return // we are lenient where the strict parser refuses; duplicates resolve differently
		}
		rnd, hasRV := w3c.OTelValue().RValueRandomness()
		th, hasTH := w3c.OTelValue().TValueThreshold()
		if hasRV != in.hasRV || (hasRV && rnd != in.rnd) {
			t.Fatalf("%q: rv %v,%v; pkg/sampling %v,%v", ts, in.rnd, in.hasRV, rnd, hasRV)
		}
		if hasTH != in.hasTH || (hasTH && th != in.threshold) {
			t.Fatalf("%q: th %v,%v; pkg/sampling %v,%v", ts, in.threshold, in.hasTH, th, hasTH)
		}
	})
}
