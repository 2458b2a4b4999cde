package dashboards

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The committed JSON under configs/grafana/dashboards is exactly what the definitions generate.
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	dir := "../../configs/grafana/dashboards"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(All) {
		t.Errorf("%s holds %d files, definitions %d", dir, len(entries), len(All))
	}
	for _, d := range All {
		want, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, d.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./internal/dashboards`", d.FileName())
		}
	}
}

// Every dashboard has a unique uid, and every panel a query and a unit.
func TestDashboardsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range All {
		if seen[d.UID] {
			t.Errorf("duplicate uid %s", d.UID)
		}
		seen[d.UID] = true
		for _, p := range d.Panels {
			if p.Expr == "" || p.Unit == "" || p.Title == "" {
				t.Errorf("%s: panel %q lacks a title, query or unit", d.UID, p.Title)
			}
		}
	}
}
