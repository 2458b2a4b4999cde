// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

//go:build race

package jeevesprocessor

// raceEnabled: the race detector multiplies memory use, so RSS bounds do not apply.
const raceEnabled = true
