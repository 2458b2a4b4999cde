// Command gen writes the Prometheus rules of package slo for an SLO file.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/jeeves/otelcol-jeeves/internal/slo"
)

func main() {
	in := flag.String("in", "configs/slo/slos.yaml", "the SLO file")
	out := flag.String("out", "configs/prometheus/rules/slo.rules.yml", "the rule file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	f, err := slo.Parse(raw)
	if err != nil {
		return err
	}
	rules, err := slo.Generate(f)
	if err != nil {
		return err
	}
	return os.WriteFile(out, rules, 0o644)
}
