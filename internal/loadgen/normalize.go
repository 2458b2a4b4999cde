package loadgen

import (
	"strings"
	"unicode"
)

// NormalizeReason turns a termination reason written in lower_snake_case,
// SCREAMING_SNAKE_CASE or PascalCase into lower_snake_case:
// "POLICY_VIOLATION" and "PolicyViolation" both become "policy_violation".
// An underscore goes before an upper-case letter that follows a lower-case
// letter or digit, or that starts a new word after an acronym
// ("MaxLLMCalls" → "max_llm_calls"). Spaces and dashes become underscores.
func NormalizeReason(s string) string {
	s = strings.TrimSpace(s)
	rs := []rune(s)
	var sb strings.Builder
	sb.Grow(len(s) + 4)
	for i, r := range rs {
		if r == '-' || r == ' ' {
			r = '_'
		}
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				sb.WriteByte('_')
			}
		}
		if r == '_' && sb.Len() > 0 && strings.HasSuffix(sb.String(), "_") {
			continue
		}
		sb.WriteRune(unicode.ToLower(r))
	}
	return sb.String()
}
