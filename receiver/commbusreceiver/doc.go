// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:generate go tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml

// Package commbusreceiver implements the commbus receiver: it speaks the Jeeves
// CommBus kernel IPC protocol, as a subscriber of a Jeeves kernel and as a
// server that Jeeves publishers target, and turns bus events into logs,
// process lifecycle spans and interrupt and quota metrics.
package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"
