package loadgen

// NormalizeReason turns a termination reason written in lower_snake_case,
// SCREAMING_SNAKE_CASE or PascalCase into lower_snake_case:
// "POLICY_VIOLATION" and "PolicyViolation" both become "policy_violation".
// An underscore goes before an upper-case letter that follows a lower-case
// letter or digit, or that starts a new word after an acronym
// ("MaxLLMCalls" → "max_llm_calls"). Other ASCII punctuation and spaces
// become one underscore; leading and trailing underscores are dropped.
// Only ASCII letters change case; other bytes are kept as they are.
func NormalizeReason(s string) string {
	out := make([]byte, 0, len(s)+4)
	underscore := func() {
		if len(out) > 0 && out[len(out)-1] != '_' {
			out = append(out, '_')
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIIUpper(c):
			if i > 0 {
				prev := s[i-1]
				nextLower := i+1 < len(s) && isASCIILower(s[i+1])
				if isASCIILower(prev) || isASCIIDigit(prev) || (isASCIIUpper(prev) && nextLower) {
					underscore()
				}
			}
			out = append(out, c+'a'-'A')
		case isASCIILower(c) || isASCIIDigit(c) || c >= 0x80:
			out = append(out, c)
		default:
			underscore()
		}
	}
	for len(out) > 0 && out[len(out)-1] == '_' {
		out = out[:len(out)-1]
	}
	return string(out)
}

func isASCIIUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isASCIILower(c byte) bool { return c >= 'a' && c <= 'z' }
func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }
