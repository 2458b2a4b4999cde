package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The command run on the committed SLO file writes exactly the committed rule file.
func TestRegeneratedRulesMatchCommitted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "slo.rules.yml")
	if err := run("../../../../configs/slo/slos.yaml", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../../../configs/prometheus/rules/slo.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("configs/prometheus/rules/slo.rules.yml differs from the generator's output: run `go generate ./internal/slo` and commit it")
	}
}

func TestInvalidSLOFileFails(t *testing.T) {
	in := filepath.Join(t.TempDir(), "slos.yaml")
	if err := os.WriteFile(in, []byte("slos: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(in, filepath.Join(t.TempDir(), "out.yml"))
	if err == nil || err.Error() != "slos must list at least one objective" {
		t.Errorf("err = %v", err)
	}
}
