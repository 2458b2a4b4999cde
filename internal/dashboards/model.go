package dashboards

import (
	"encoding/json"
	"strings"
)

// PrometheusUID is the datasource uid every panel queries, as configs/grafana/provisioning/datasources
// provides it. Exemplars on the latency panels open their trace in the datasource with uid "jaeger"
// through that Prometheus datasource's exemplarTraceIdDestinations (exemplar label trace_id).
const PrometheusUID = "prometheus"

// grid is Grafana's dashboard width in columns.
const grid = 24

// JSON renders d as a Grafana 11 dashboard model (schema 39) on the PrometheusUID datasource.
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
		Targets     []target          `json:"targets,omitempty"`
		Collapsed   *bool             `json:"collapsed,omitempty"`
	}
	ds := map[string]string{"type": "prometheus", "uid": PrometheusUID}
	panels := make([]panel, 0, len(d.Panels))
	pos, rows := layout(d.Panels)
	id := 0
	for i, p := range d.Panels {
		if p.Row != "" {
			id++
			open := false
			panels = append(panels, panel{ID: id, Type: "row", Title: p.Row, Datasource: ds, GridPos: rows[i], Collapsed: &open,
				FieldConfig: map[string]any{"defaults": map[string]any{}, "overrides": []any{}}})
		}
		id++
		panels = append(panels, panel{
			ID: id, Type: p.kind(), Title: p.Title, Description: p.description(), Datasource: ds,
			GridPos:     pos[i],
			FieldConfig: map[string]any{"defaults": p.fieldDefaults(), "overrides": []any{}},
			Targets: []target{{
				RefID: "A", Expr: p.Expr, LegendFormat: p.Legend, Datasource: ds,
				// A histogram's buckets carry the exemplars (trace ids) Grafana links to Jaeger.
				Exemplar: strings.Contains(p.Expr, "_bucket"),
			}},
		})
	}
	model := map[string]any{
		"uid":           d.UID,
		"title":         d.Title,
		"description":   d.Question,
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

func (p Panel) kind() string {
	if p.Kind == "" {
		return "timeseries"
	}
	return p.Kind
}

func (p Panel) description() string {
	desc := p.Description
	if p.External != "" {
		if desc != "" {
			desc += " "
		}
		desc += "Needs metrics from " + p.External + "."
	}
	return desc
}

// fieldDefaults is the panel's fieldConfig.defaults: unit, ratio floor and thresholds.
func (p Panel) fieldDefaults() map[string]any {
	type step struct {
		Color string   `json:"color"`
		Value *float64 `json:"value"`
	}
	// Without a threshold every value is green: Grafana's own default (red from 80) would colour
	// a stat of 100 runs/s as an alarm.
	steps := []step{{Color: "green"}}
	style := "off"
	if t := p.Threshold; t != nil {
		v := t.Value
		if t.BadBelow {
			steps = []step{{Color: "red"}, {Color: "green", Value: &v}}
		} else {
			steps = []step{{Color: "green"}, {Color: "red", Value: &v}}
		}
		style = "dashed"
	}
	defaults := map[string]any{
		"unit":       p.Unit,
		"thresholds": map[string]any{"mode": "absolute", "steps": steps},
	}
	if p.kind() == "timeseries" {
		defaults["custom"] = map[string]any{"thresholdsStyle": map[string]string{"mode": style}}
	}
	if p.Unit == "percentunit" {
		// A ratio's axis starts at 0 so that 2% does not look like a cliff; no upper bound, which
		// would flatten a 1% error ratio into the floor.
		defaults["min"] = 0
	}
	return defaults
}

// layout places panels left to right in reading order, starting a new row when the next panel
// does not fit: stats 6 columns by 4 rows, time series 12 by 8. A panel with a Row starts a new
// line under a full-width row header 1 high, whose position is in rows at the panel's index.
func layout(panels []Panel) (out, rows []map[string]int) {
	out = make([]map[string]int, len(panels))
	rows = make([]map[string]int, len(panels))
	x, y, rowH := 0, 0, 0
	for i, p := range panels {
		w, h := 12, 8
		if p.kind() == "stat" {
			w, h = 6, 4
		}
		if p.Row != "" {
			if x > 0 {
				x, y, rowH = 0, y+rowH, 0
			}
			rows[i] = map[string]int{"x": 0, "y": y, "w": grid, "h": 1}
			y++
		}
		if x+w > grid {
			x, y, rowH = 0, y+rowH, 0
		}
		out[i] = map[string]int{"x": x, "y": y, "w": w, "h": h}
		x += w
		rowH = max(rowH, h)
	}
	return out, rows
}
