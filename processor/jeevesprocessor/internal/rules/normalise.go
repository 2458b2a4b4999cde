// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }
func isLower(b byte) bool { return b >= 'a' && b <= 'z' }
func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// appendLower appends s with ASCII letters lower-cased. Other bytes are kept.
func appendLower(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if isUpper(b) {
			b += 'a' - 'A'
		}
		buf = append(buf, b)
	}
	return buf
}

// appendFirstWordLower appends the first space-separated word of s, lower-cased
// ("SELECT users" → "select").
func appendFirstWordLower(buf []byte, s string) []byte {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' {
		j++
	}
	return appendLower(buf, s[i:j])
}

// appendSnake appends s in lower_snake_case: SCREAMING_SNAKE, PascalCase,
// camelCase, kebab-case and dotted names all become lower_snake
// ("MAX_LLM_CALLS_EXCEEDED", "MaxLlmCallsExceeded" → "max_llm_calls_exceeded";
// "LLMFailed" → "llm_failed"). Runs of separators collapse to one underscore
// and leading or trailing separators are dropped. Non-ASCII bytes are kept.
func appendSnake(buf []byte, s string) []byte {
	start := len(buf)
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case isUpper(b):
			if i > 0 && len(buf) > start && buf[len(buf)-1] != '_' {
				prev := s[i-1]
				nextLower := i+1 < len(s) && isLower(s[i+1])
				if isLower(prev) || isDigit(prev) || (isUpper(prev) && nextLower) {
					buf = append(buf, '_')
				}
			}
			buf = append(buf, b+('a'-'A'))
		case isLower(b) || isDigit(b) || b >= 0x80:
			buf = append(buf, b)
		default:
			if len(buf) > start && buf[len(buf)-1] != '_' {
				buf = append(buf, '_')
			}
		}
	}
	for len(buf) > start && buf[len(buf)-1] == '_' {
		buf = buf[:len(buf)-1]
	}
	return buf
}
