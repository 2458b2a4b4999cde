// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml

// Package jeevesprocessor implements the jeeves connector: it derives the Jeeves
// RED metric families and Jaeger Monitor-tab span metrics from every span it
// sees, keeping every series table bounded.
package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"
