// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import "strings"

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

// httpMethods are the methods the http_method transform keeps (upper-cased);
// any other value is "_OTHER", as the HTTP semantic conventions write it, so
// a client sending made-up methods cannot grow the label's values.
var httpMethods = [...]string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}

// otherHTTPMethod is the http_method value of a method not in httpMethods.
const otherHTTPMethod = "_OTHER"

// appendHTTPMethod appends s upper-cased when it is a known HTTP method, else
// "_OTHER".
func appendHTTPMethod(buf []byte, s string) []byte {
	for _, m := range httpMethods {
		if strings.EqualFold(m, s) {
			return append(buf, m...)
		}
	}
	return append(buf, otherHTTPMethod...)
}

// maxURLPathBytes bounds what the url_path transform writes; a longer path is
// cut there (the series limit bounds how many distinct ones are kept).
const maxURLPathBytes = 128

// idSegment is what the url_path transform writes for an id-like segment.
const idSegment = "{id}"

// appendURLPath appends the path of a URL ("https://h:8080/a/b?q") or of a
// request target ("/a/b?q"): no scheme, host, query or fragment, and every
// id-like segment written as "{id}", so that "/runs/123" and "/runs/456" are
// one endpoint. An empty path is "/".
func appendURLPath(buf []byte, s string) []byte {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexByte(s, '/'); j >= 0 {
			s = s[j:]
		} else {
			s = ""
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	start := len(buf)
	if s == "" || s[0] != '/' {
		buf = append(buf, '/')
	}
	for len(s) > 0 {
		end := strings.IndexByte(s, '/')
		if end < 0 {
			end = len(s)
		}
		seg := s[:end]
		if idLike(seg) {
			buf = append(buf, idSegment...)
		} else {
			buf = append(buf, seg...)
		}
		if end < len(s) {
			buf = append(buf, '/')
			end++
		}
		s = s[end:]
		if len(buf)-start >= maxURLPathBytes {
			return buf[:start+maxURLPathBytes]
		}
	}
	return buf
}

// idLike reports whether a path segment is an identifier rather than a name:
// all digits, or hexadecimal digits and dashes, 16 bytes or more (UUIDs,
// trace and object ids).
func idLike(seg string) bool {
	if seg == "" {
		return false
	}
	digits, hex := true, len(seg) >= 16
	for i := 0; i < len(seg); i++ {
		b := seg[i]
		if !isDigit(b) {
			digits = false
			if !isHexOrDash(b) {
				hex = false
			}
		}
	}
	return digits || hex
}

func isHexOrDash(b byte) bool {
	return isDigit(b) || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' || b == '-'
}
