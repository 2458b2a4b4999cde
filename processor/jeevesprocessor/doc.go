// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml

// Package jeevesprocessor implements the jeeves connector: its traces→metrics
// face derives the Jeeves RED metric families and Jaeger Monitor-tab span
// metrics from every span it sees, keeping every series table bounded; its
// traces→traces face forwards a consistent OTEP 235 sample of whole traces
// (every error and slow trace in tail mode), and exemplars reference only
// forwarded traces.
package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"
