// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"
)

// yamlToJSON converts a YAML document to JSON so the pdata JSON unmarshalers
// can read golden files written as YAML.
func yamlToJSON(t testing.TB, data []byte) []byte {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return out
}

// jsonToYAML converts pdata JSON into YAML, keeping numbers exact.
func jsonToYAML(t testing.TB, data []byte) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	require.NoError(t, enc.Encode(numbersToYAML(v)))
	return buf.Bytes()
}

// numbersToYAML turns json.Number into ints or floats so YAML writes them unquoted.
func numbersToYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbersToYAML(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbersToYAML(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func readTraces(t testing.TB, path string) ptrace.Traces {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(yamlToJSON(t, data))
	require.NoError(t, err)
	return td
}

func readMetrics(t testing.TB, path string) pmetric.Metrics {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(yamlToJSON(t, data))
	require.NoError(t, err)
	return md
}

func writeMetrics(t testing.TB, path string, md pmetric.Metrics) {
	t.Helper()
	data, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, jsonToYAML(t, data), 0o600))
}
