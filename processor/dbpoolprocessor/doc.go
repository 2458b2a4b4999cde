// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml

// Package dbpoolprocessor implements the jeeves_dbpool processor: in a metrics
// pipeline it reads the OpenTelemetry database client connection-pool metrics
// (current and legacy semantic conventions) that Jeeves services send, and adds
// one gauge series per pool for the Jeeves pool families, so a saturated pool
// cannot hide behind an idle one.
package dbpoolprocessor // import "github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor"
