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

// webhookBin is the alert webhook the alerting scenarios record notifications with:
// $JEEVES_ALERT_WEBHOOK_BIN if set, otherwise built from cmd/jeeves-alert-webhook.
var webhookBin string

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
	dir, err := os.MkdirTemp("", "otelcol-jeeves-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for _, b := range []struct {
		bin      *string
		env, dir string
		pkg      string
	}{
		{&collectorBin, "OTELCOL_JEEVES_BIN", filepath.Join(root, "cmd", "otelcol-jeeves"), "."},
		{&webhookBin, "JEEVES_ALERT_WEBHOOK_BIN", root, "./cmd/jeeves-alert-webhook"},
	} {
		if *b.bin = os.Getenv(b.env); *b.bin != "" {
			continue
		}
		*b.bin = filepath.Join(dir, filepath.Base(filepath.Clean(filepath.Join(b.dir, b.pkg))))
		build := exec.Command("go", "build", "-o", *b.bin, b.pkg)
		build.Dir = b.dir
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", b.pkg, err)
			return 1
		}
	}
	return m.Run()
}
