package dashboards

import (
	"encoding/json"
	"strings"
)

// JSON renders d as a Grafana dashboard model (schema 39) on the "prometheus" datasource uid that
// configs/grafana/provisioning provides.
func (d Dashboard) JSON() ([]byte, error) {
	type target struct {
		RefID        string            `json:"refId"`
		Expr         string            `json:"expr"`
		LegendFormat string            `json:"legendFormat,omitempty"`
		Datasource   map[string]string `json:"datasource"`
		Exemplar     bool              `json:"exemplar"`
	}
	type panel struct {
		ID          int               `json:"id"`
		Type        string            `json:"type"`
		Title       string            `json:"title"`
		Description string            `json:"description,omitempty"`
		Datasource  map[string]string `json:"datasource"`
		GridPos     map[string]int    `json:"gridPos"`
		FieldConfig map[string]any    `json:"fieldConfig"`
		Targets     []target          `json:"targets"`
	}
	ds := map[string]string{"type": "prometheus", "uid": "prometheus"}
	panels := make([]panel, 0, len(d.Panels))
	for i, p := range d.Panels {
		kind := p.Kind
		if kind == "" {
			kind = "timeseries"
		}
		w, h := 12, 8
		if kind == "stat" {
			w, h = 8, 4
		}
		desc := ""
		if p.External != "" {
			desc = "Needs metrics from " + p.External + "."
		}
		panels = append(panels, panel{
			ID: i + 1, Type: kind, Title: p.Title, Description: desc, Datasource: ds,
			GridPos:     map[string]int{"x": (i % 2) * 12, "y": (i / 2) * 8, "w": w, "h": h},
			FieldConfig: map[string]any{"defaults": map[string]any{"unit": p.Unit}, "overrides": []any{}},
			Targets: []target{{
				RefID: "A", Expr: p.Expr, LegendFormat: p.Legend, Datasource: ds,
				Exemplar: strings.Contains(p.Expr, "_bucket"),
			}},
		})
	}
	model := map[string]any{
		"uid":           d.UID,
		"title":         d.Title,
		"tags":          []string{"jeeves", "otelcol-jeeves"},
		"schemaVersion": 39,
		"version":       1,
		"editable":      true,
		"time":          map[string]string{"from": "now-1h", "to": "now"},
		"refresh":       "30s",
		"panels":        panels,
	}
	out, err := json.MarshalIndent(model, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// FileName is the dashboard's file name under configs/grafana/dashboards.
func (d Dashboard) FileName() string { return d.UID + ".json" }
