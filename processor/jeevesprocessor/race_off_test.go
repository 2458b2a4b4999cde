// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !race

package jeevesprocessor

const raceEnabled = false
