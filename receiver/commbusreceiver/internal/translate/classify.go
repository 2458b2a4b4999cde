package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Event types the translator gives meaning to (see
// docs/commbus-protocol.md#kernel-events).
const (
	TypeProcessCreated      = "process.created"
	TypeProcessStateChanged = "process.state_changed"
	TypeProcessTerminated   = "process.terminated"
	TypeProcessResumed      = "process.resumed"
	TypeProcessCancelled    = "process.cancelled"
	TypeResourceExhausted   = "resource.exhausted"
	TypeEnvelopeSnapshot    = "envelope.snapshot"
)

// otherLabel replaces every label value outside a fixed set.
const otherLabel = "other"

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

// eventTypeLabel folds an event type into the fixed label set.
func eventTypeLabel(eventType string) string {
	if _, ok := knownEventTypes[eventType]; ok {
		return eventType
	}
	return otherLabel
}

// Source label values. The kernel and the named Jeeves services pass; the
// Python worker publishes with its process id as source, so every other
// non-empty source is a "worker"; an absent source is "unknown".
var knownSources = map[string]struct{}{
	"kernel": {}, "gateway": {}, "orchestrator": {}, "bridge": {}, "worker": {},
}

// sourceLabel folds a source into the fixed label set.
func sourceLabel(source string) string {
	if source == "" {
		return "unknown"
	}
	if _, ok := knownSources[source]; ok {
		return source
	}
	return "worker"
}

// Interrupt kinds and statuses (see docs/jeeves-telemetry.md#interrupts and
// docs/commbus-protocol.md#interrupts-from-the-bus).
const (
	kindClarification     = "clarification"
	kindConfirmation      = "confirmation"
	kindAgentReview       = "agent_review"
	kindCheckpoint        = "checkpoint"
	kindResourceExhausted = "resource_exhausted"
	kindTimeout           = "timeout"
	kindSystemError       = "system_error"

	statusPending   = "pending"
	statusResolved  = "resolved"
	statusExpired   = "expired"
	statusCancelled = "cancelled"
)

// interruptKind maps the free-text reason of a transition into WAITING to
// the fixed kind set. The first matching rule wins; a reason that names no
// kind is a clarification, the generic "ask the user" interrupt.
func interruptKind(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "clarif"):
		return kindClarification
	case strings.Contains(r, "confirm"), strings.Contains(r, "approv"):
		return kindConfirmation
	case strings.Contains(r, "review"):
		return kindAgentReview
	case strings.Contains(r, "checkpoint"):
		return kindCheckpoint
	case strings.Contains(r, "exhaust"), strings.Contains(r, "quota"), strings.Contains(r, "resource"),
		strings.Contains(r, "exceeded"):
		return kindResourceExhausted
	case strings.Contains(r, "timeout"), strings.Contains(r, "timed out"), strings.Contains(r, "deadline"):
		return kindTimeout
	case strings.Contains(r, "error"), strings.Contains(r, "fail"), strings.Contains(r, "exception"):
		return kindSystemError
	}
	return kindClarification
}

// Resource label values of jeeves_resource_exhaustions_total.
const (
	resourceLLMCalls   = "llm_calls"
	resourceToolCalls  = "tool_calls"
	resourceAgentHops  = "agent_hops"
	resourceTokens     = "tokens"
	resourceIterations = "iterations"
	resourceTime       = "time"
)

// resourceFromReason maps a quota reason (free text such as
// "max_llm_calls_exceeded" or "LLM call quota exceeded: 50/50") to the fixed
// resource set, "other" when it names none.
func resourceFromReason(reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "llm"):
		return resourceLLMCalls
	case strings.Contains(r, "tool"):
		return resourceToolCalls
	case strings.Contains(r, "hop"):
		return resourceAgentHops
	case strings.Contains(r, "token"):
		return resourceTokens
	case strings.Contains(r, "iteration"), strings.Contains(r, "loop"):
		return resourceIterations
	case strings.Contains(r, "time"), strings.Contains(r, "deadline"):
		return resourceTime
	}
	return otherLabel
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
// text (see docs/commbus-protocol.md#privacy).
var userTextFields = map[string][]string{
	"ClarificationRequested": {"question"},
	"PipelineStarted":        {"query"},
	"ResponseChunk":          {"content"},
	TypeEnvelopeSnapshot:     {"envelope"},
}
