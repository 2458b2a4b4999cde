package sampler

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// stamp is a threshold to write into kept spans, with its encodings computed once.
type stamp struct {
	threshold sampling.Threshold
	tvalue    string // "e666"
	alone     string // "ot=th:e666", the whole tracestate of a span that had none
}

func newStamp(th sampling.Threshold) stamp {
	tv := th.TValue()
	return stamp{threshold: th, tvalue: tv, alone: "ot=th:" + tv}
}

// alwaysStamp marks spans kept by a rule that keeps all of its traces (adjusted count 1).
var alwaysStamp = newStamp(sampling.AlwaysSampleThreshold)

// Threshold returns the OTEP 235 threshold for keeping percentage (0, 100] of traces, encoded with
// precision significant hex digits (1..14), as the `th` value written into tracestate: 10% at
// precision 4 is "e666". It uses pkg/sampling's rounding, so collectors configured alike agree.
func Threshold(percentage float64, precision int) (string, error) {
	th, err := threshold(percentage, precision)
	if err != nil {
		return "", err
	}
	return th.TValue(), nil
}

func threshold(percentage float64, precision int) (sampling.Threshold, error) {
	return sampling.ProbabilityToThresholdWithPrecision(percentage/100, precision)
}

// randomness is the 56 random bits a decision compares with the threshold: the rv sub-key when the
// tracestate carries one, else the low 56 bits of the trace id (W3C trace context level 2).
func randomness(id pcommon.TraceID, in incoming) sampling.Randomness {
	if in.hasRV {
		return in.rnd
	}
	return sampling.TraceIDToRandomness(id)
}

// effective is the threshold a decision uses: ours, or the incoming one when it is higher, because a
// span sampled upstream at a lower probability must not be counted as if sampled at a higher one.
func effective(ours sampling.Threshold, in incoming) sampling.Threshold {
	if in.hasTH && sampling.ThresholdGreater(in.threshold, ours) {
		return in.threshold
	}
	return ours
}

// applyStamp writes s into a kept span's tracestate unless the span already carries a threshold at
// least as high (equalizing: never raise a span's sampling probability). raw is the current
// tracestate and in what it says. It allocates only when an existing tracestate must be rewritten.
func applyStamp(ts pcommon.TraceState, raw string, in incoming, s stamp) {
	if in.hasTH && !sampling.ThresholdLessThan(in.threshold, s.threshold) {
		return
	}
	if raw == "" {
		ts.FromRaw(s.alone)
		return
	}
	ts.FromRaw(withThreshold(raw, s.tvalue))
}
