// Package e2e runs the otelcol-jeeves binary as a real process on free ports and drives it the way
// an operator's deployment would: OTLP in, Prometheus scrapes and an OTLP trace backend out.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// collectorBin is the binary under test: $OTELCOL_JEEVES_BIN if set, otherwise built from
// cmd/otelcol-jeeves into a temporary directory (a warm build takes seconds).
var collectorBin string

// repoRoot is the repository root, for configs/ and cmd/.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	if bin := os.Getenv("OTELCOL_JEEVES_BIN"); bin != "" {
		collectorBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "otelcol-jeeves-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	collectorBin = filepath.Join(dir, "otelcol-jeeves")
	build := exec.Command("go", "build", "-o", collectorBin, ".")
	build.Dir = filepath.Join(root, "cmd", "otelcol-jeeves")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building otelcol-jeeves:", err)
		return 1
	}
	return m.Run()
}
