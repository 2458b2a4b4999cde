package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// parseJSON parses a JSON text. encoding/json only reads its input, so the
// string's bytes are used in place.
func parseJSON(s string) (any, bool) {
	if s == "" {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(unsafe.Slice(unsafe.StringData(s), len(s)), &v); err != nil {
		return nil, false
	}
	return v, true
}

// maxSafeInt is the largest integer a float64 holds exactly.
const maxSafeInt = 1 << 53

// putValue writes a parsed JSON value into dst. Integral numbers within the
// exact float64 range become ints, other numbers doubles. Map keys are
// written sorted so output is deterministic.
func putValue(dst pcommon.Value, v any) {
	switch x := v.(type) {
	case nil:
		// an empty value is JSON null
	case string:
		dst.SetStr(x)
	case bool:
		dst.SetBool(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxSafeInt {
			dst.SetInt(int64(x))
		} else {
			dst.SetDouble(x)
		}
	case map[string]any:
		putMap(dst.SetEmptyMap(), x)
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, e := range x {
			putValue(s.AppendEmpty(), e)
		}
	}
}

func putMap(dst pcommon.Map, m map[string]any) {
	dst.EnsureCapacity(len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		putValue(dst.PutEmpty(k), m[k])
	}
}

// str returns v as a string when it is one, or a JSON number rendered as an
// integer or decimal (pids may be numbers), else "".
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxSafeInt {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return ""
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
