package loadgen

import (
	"regexp"
	"strings"
	"testing"
)

func TestNormalizeReason(t *testing.T) {
	cases := map[string]string{
		"max_llm_calls_exceeded": "max_llm_calls_exceeded",
		"MAX_LLM_CALLS_EXCEEDED": "max_llm_calls_exceeded",
		"MaxLlmCallsExceeded":    "max_llm_calls_exceeded",
		"MaxLLMCallsExceeded":    "max_llm_calls_exceeded",
		"POLICY_VIOLATION":       "policy_violation",
		"PolicyViolation":        "policy_violation",
		"maxLoopExceeded":        "max_loop_exceeded",
		"user-cancelled":         "user_cancelled",
		" Completed ":            "completed",
		"tool__failed":           "tool_failed",
		"_x_":                    "x",
		"Step2Failed":            "step2_failed",
		"":                       "",
		"___":                    "",
		"Ünïcode":                "Ünïcode",
	}
	for in, want := range cases {
		if got := NormalizeReason(in); got != want {
			t.Errorf("NormalizeReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every reason the generator writes, in every casing it writes, normalises back
// to the reason the manifest records.
func TestNormalizeReasonRoundTripsGeneratorCasings(t *testing.T) {
	g := NewGenerator(DefaultConfig())
	b := &builder{cfg: &g.cfg, r: g.r}
	for _, reason := range TerminationReasons {
		seen := map[string]bool{}
		for range 64 {
			written := b.caseReason(reason)
			seen[written] = true
			if got := NormalizeReason(written); got != reason {
				t.Errorf("NormalizeReason(%q) = %q, want %q", written, got, reason)
			}
		}
		if len(seen) != 3 {
			t.Errorf("reason %q written in %d casings, want 3: %v", reason, len(seen), seen)
		}
	}
}

var lowerSnake = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`)

// FuzzNormalizeReason checks the output is always lower_snake-shaped and that
// normalising twice changes nothing.
func FuzzNormalizeReason(f *testing.F) {
	for _, r := range TerminationReasons {
		f.Add(r)
		f.Add(strings.ToUpper(r))
	}
	for _, s := range []string{"MaxLLMCallsExceeded", "PolicyViolation", "a--b", "Ä_B", "x\x00Y", "ABc", "aB1C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := NormalizeReason(s)
		for i := 0; i < len(out); i++ {
			if isASCIIUpper(out[i]) {
				t.Fatalf("NormalizeReason(%q) = %q keeps an upper-case letter", s, out)
			}
		}
		if strings.Contains(out, "__") || strings.HasPrefix(out, "_") || strings.HasSuffix(out, "_") {
			t.Fatalf("NormalizeReason(%q) = %q has stray underscores", s, out)
		}
		if again := NormalizeReason(out); again != out {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
		if lowerSnake.MatchString(s) && out != s {
			t.Fatalf("lower_snake input %q changed to %q", s, out)
		}
	})
}
