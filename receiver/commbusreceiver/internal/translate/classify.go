package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Event types of COMMBUS.md that the translator gives meaning to.
const (
	TypeProcessCreated      = "process.created"
	TypeProcessStateChanged = "process.state_changed"
	TypeProcessTerminated   = "process.terminated"
	TypeProcessResumed      = "process.resumed"
	TypeProcessCancelled    = "process.cancelled"
	TypeResourceExhausted   = "resource.exhausted"
	TypeEnvelopeSnapshot    = "envelope.snapshot"
)

// OtherLabel replaces every label value outside a fixed set.
const OtherLabel = "other"

// knownEventTypes are the event_type label values that pass through
// unchanged; anything else is counted as "other". Kernel events, the
// worker's agent event, and the in-process (PascalCase) message names and
// bus-middleware events a bridge may publish.
var knownEventTypes = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, t := range []string{
		TypeProcessCreated, TypeProcessStateChanged, TypeProcessTerminated, TypeProcessResumed,
		TypeProcessCancelled, TypeResourceExhausted, TypeEnvelopeSnapshot,
		"frontend.orchestrator.started", "frontend.orchestrator.completed",
		"frontend.orchestrator.resource_exhausted", "frontend.orchestrator.cancelled",
		"pipeline.agent_completed",
		"AgentStarted", "AgentCompleted", "ToolStarted", "ToolCompleted", "PipelineStarted",
		"PipelineCompleted", "StageTransition", "ClarificationRequested", "ClarificationResolved",
		"GoalCompleted", "ResponseChunk", "FrontendBroadcast",
		"commbus_message_received", "commbus_message_completed", "commbus_message_failed",
		"circuit_opened", "circuit_closed", "circuit_half_open",
	} {
		m[t] = struct{}{}
	}
	return m
}()

// KnownEventTypes returns the event_type label values that are not folded
// into "other" (for documentation and tests).
func KnownEventTypes() []string {
	out := make([]string, 0, len(knownEventTypes))
	for t := range knownEventTypes {
		out = append(out, t)
	}
	return out
}

// EventTypeLabel folds an event type into the fixed label set.
func EventTypeLabel(eventType string) string {
	if _, ok := knownEventTypes[eventType]; ok {
		return eventType
	}
	return OtherLabel
}

// Source label values. The kernel and the named Jeeves services pass; the
// Python worker publishes with its process id as source, so every other
// non-empty source is a "worker"; an absent source is "unknown".
var knownSources = map[string]struct{}{
	"kernel": {}, "gateway": {}, "orchestrator": {}, "bridge": {}, "worker": {},
}

// SourceLabel folds a source into the fixed label set.
func SourceLabel(source string) string {
	if source == "" {
		return "unknown"
	}
	if _, ok := knownSources[source]; ok {
		return source
	}
	return "worker"
}

// Interrupt kinds and statuses (TELEMETRY.md).
const (
	KindClarification     = "clarification"
	KindConfirmation      = "confirmation"
	KindAgentReview       = "agent_review"
	KindCheckpoint        = "checkpoint"
	KindResourceExhausted = "resource_exhausted"
	KindTimeout           = "timeout"
	KindSystemError       = "system_error"

	StatusPending   = "pending"
	StatusResolved  = "resolved"
	StatusExpired   = "expired"
	StatusCancelled = "cancelled"
)

// InterruptKind maps the free-text reason of a transition into WAITING to
// the fixed kind set. The first matching rule wins; a reason that names no
// kind is a clarification, the generic "ask the user" interrupt.
func InterruptKind(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "clarif"):
		return KindClarification
	case strings.Contains(r, "confirm"), strings.Contains(r, "approv"):
		return KindConfirmation
	case strings.Contains(r, "review"):
		return KindAgentReview
	case strings.Contains(r, "checkpoint"):
		return KindCheckpoint
	case strings.Contains(r, "exhaust"), strings.Contains(r, "quota"), strings.Contains(r, "resource"),
		strings.Contains(r, "exceeded"):
		return KindResourceExhausted
	case strings.Contains(r, "timeout"), strings.Contains(r, "timed out"), strings.Contains(r, "deadline"):
		return KindTimeout
	case strings.Contains(r, "error"), strings.Contains(r, "fail"), strings.Contains(r, "exception"):
		return KindSystemError
	}
	return KindClarification
}

// Resource label values of jeeves_resource_exhaustions_total.
const (
	ResourceLLMCalls   = "llm_calls"
	ResourceToolCalls  = "tool_calls"
	ResourceAgentHops  = "agent_hops"
	ResourceTokens     = "tokens"
	ResourceIterations = "iterations"
	ResourceTime       = "time"
)

// ResourceFromReason maps a quota reason (free text such as
// "max_llm_calls_exceeded" or "LLM call quota exceeded: 50/50") to the fixed
// resource set, "other" when it names none.
func ResourceFromReason(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "llm"):
		return ResourceLLMCalls
	case strings.Contains(r, "tool"):
		return ResourceToolCalls
	case strings.Contains(r, "hop"):
		return ResourceAgentHops
	case strings.Contains(r, "token"):
		return ResourceTokens
	case strings.Contains(r, "iteration"), strings.Contains(r, "loop"):
		return ResourceIterations
	case strings.Contains(r, "time"), strings.Contains(r, "deadline"):
		return ResourceTime
	}
	return OtherLabel
}

// severity decides the log severity of an event: warnings for cancellations
// and exhausted quotas, errors for failed work, info otherwise.
func severity(eventType string, fields map[string]any) (plog.SeverityNumber, string) {
	warn := func() (plog.SeverityNumber, string) { return plog.SeverityNumberWarn, "WARN" }
	fail := func() (plog.SeverityNumber, string) { return plog.SeverityNumberError, "ERROR" }
	switch eventType {
	case TypeProcessCancelled, TypeResourceExhausted,
		"frontend.orchestrator.resource_exhausted", "frontend.orchestrator.cancelled",
		"circuit_opened":
		return warn()
	case "commbus_message_failed":
		return fail()
	case "pipeline.agent_completed":
		if b, ok := fields["success"].(bool); ok && !b {
			return fail()
		}
	case "AgentCompleted", "ToolCompleted":
		switch str(fields["status"]) {
		case "error", "timeout":
			return fail()
		}
	case "PipelineCompleted":
		switch str(fields["status"]) {
		case "error":
			return fail()
		case "cancelled":
			return warn()
		}
	}
	return plog.SeverityNumberInfo, "INFO"
}

// userTextFields lists, per event type, the payload fields that carry user
// text (COMMBUS.md, Privacy).
var userTextFields = map[string][]string{
	"ClarificationRequested": {"question"},
	"PipelineStarted":        {"query"},
	"ResponseChunk":          {"content"},
	TypeEnvelopeSnapshot:     {"envelope"},
}
