// Command gen writes the Grafana dashboard JSON models of package dashboards into a directory.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jeeves/otelcol-jeeves/internal/dashboards"
)

func main() {
	out := flag.String("out", "configs/grafana/dashboards", "directory to write the dashboards into")
	flag.Parse()
	for _, d := range dashboards.All {
		raw, err := d.JSON()
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, d.FileName()), raw, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}
