// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

// The bounds and sentinel values of the package, in one place.

// MaxAttributeKeyBytes bounds the attribute keys that rules and dimensions
// may read: the attribute scan indexes keys by length below it (at most 256).
const MaxAttributeKeyBytes = 256

// MaxAttributeKeyBytes must fit a byteSet: a larger bound does not compile.
const _ = uint8(MaxAttributeKeyBytes - 1)

// Match.AttrFields must have a bit for every field: a larger maxFields does
// not compile.
const _ = uint32(1 << (maxFields - 1))

// NoRule is Match.Rule when no rule matched the span.
const NoRule = -1

const (
	// maxFields bounds the fields of one family: its fixed fields plus extra
	// dimensions. Match.AttrFields has one bit per field.
	maxFields = 16
	// maxFixedFields is the most fixed fields a family has (llm).
	maxFixedFields = 5
	// maxDimensions is the number of extra dimensions a family accepts.
	maxDimensions = maxFields - maxFixedFields

	// noSuffix is the suffix position of a span name matched exactly or by
	// a rule without span names: there is no suffix after a `prefix*`.
	noSuffix = -1

	// statusError and statusSuccess are the values of the span_status
	// fallback.
	statusError   = "error"
	statusSuccess = "success"

	// tokensTypeLabel is the label the connector adds to the LLM token
	// counter (input or output); no dimension of any family may take it.
	tokensTypeLabel = "type"

	// familyList names the families in configuration error messages.
	familyList = "pipeline, agent, llm, db, interrupt, http"
)
