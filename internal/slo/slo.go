// Package slo turns the service level objectives of configs/slo/slos.yaml into Prometheus recording
// rules and multiwindow, multi-burn-rate alerts (the shape of the Google SRE workbook's "Alerting on
// SLOs" chapter). It is a pure function of the SLO file: `go generate` writes its output to
// configs/prometheus/rules/slo.rules.yml and a test fails when the committed file differs.
package slo

//go:generate go run ./cmd/gen -in ../../configs/slo/slos.yaml -out ../../configs/prometheus/rules/slo.rules.yml

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// File is the content of an SLO file.
type File struct {
	SLOs []SLO `yaml:"slos"`
}

// SLO is one objective: the share of good events among all events over a window.
type SLO struct {
	// Name is the value of the `slo` label on every generated series and alert.
	Name string `yaml:"name"`
	// Description says in one sentence what a good event is.
	Description string `yaml:"description"`
	// Objective is the target share of good events, in (0, 1): 0.995 for 99.5%.
	Objective float64 `yaml:"objective"`
	// Window is the period the objective holds over and the error budget is counted in, e.g. "30d".
	Window string `yaml:"window"`
	// Errors selects the counter series of bad events; exclusive with Good.
	Errors string `yaml:"errors"`
	// Good selects the counter series of good events; exclusive with Errors.
	Good string `yaml:"good"`
	// Total selects the counter series of every event.
	Total string `yaml:"total"`
	// By lists labels kept apart: one ratio, budget and alert per value (e.g. provider). Empty sums
	// every series into one.
	By []string `yaml:"by"`
}

var (
	nameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Parse reads an SLO file and validates it; unknown keys are errors.
func Parse(raw []byte) (File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("slo file: %w", err)
	}
	return f, f.Validate()
}

// Validate reports every problem of the file at once.
func (f File) Validate() error {
	var errs []error
	if len(f.SLOs) == 0 {
		errs = append(errs, errors.New("slos must list at least one objective"))
	}
	longest := longestAlertWindow()
	seen := map[string]bool{}
	for i, s := range f.SLOs {
		at := fmt.Sprintf("slos[%d]", i)
		if !nameRE.MatchString(s.Name) {
			errs = append(errs, fmt.Errorf("%s.name must match %s, got %q", at, nameRE, s.Name))
		} else if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q is used twice", at, s.Name))
		}
		seen[s.Name] = true
		if !(s.Objective > 0 && s.Objective < 1) {
			errs = append(errs, fmt.Errorf("%s.objective must be in (0, 1), got %v", at, s.Objective))
		}
		if w, err := model.ParseDuration(s.Window); err != nil {
			errs = append(errs, fmt.Errorf("%s.window must be a Prometheus duration such as 30d, got %q", at, s.Window))
		} else if time.Duration(w) < longest {
			errs = append(errs, fmt.Errorf("%s.window must be at least %s (the longest alert window), got %s", at, model.Duration(longest), s.Window))
		}
		if (s.Errors == "") == (s.Good == "") {
			errs = append(errs, fmt.Errorf("%s must set exactly one of errors and good", at))
		}
		if s.Total == "" {
			errs = append(errs, fmt.Errorf("%s.total must be set", at))
		}
		for _, l := range s.By {
			if !labelRE.MatchString(l) || l == "slo" {
				errs = append(errs, fmt.Errorf("%s.by holds %q, which is not a label name (or is slo)", at, l))
			}
		}
	}
	return errors.Join(errs...)
}

// budget is the allowed share of bad events, rounded so that 1-0.995 prints as 0.005.
func (s SLO) budget() float64 {
	return roundTo(1-s.Objective, 1e9)
}

// roundTo rounds v to 1/scale; dividing by the integer scale gives the nearest float64 of the
// decimal (0.1, not 0.09999999999999999).
func roundTo(v, scale float64) float64 {
	return math.Round(v*scale) / scale
}
