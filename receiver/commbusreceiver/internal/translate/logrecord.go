package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"encoding/json"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// payload is an event's JSON payload as parsed once for logs, spans and
// metrics.
type payload struct {
	parsed any
	fields map[string]any // parsed, when it is a JSON object
	valid  bool
}

func parsePayload(text string) payload {
	parsed, valid := parseJSON(text)
	fields, _ := parsed.(map[string]any)
	return payload{parsed: parsed, fields: fields, valid: valid}
}

// appendLog appends the event's log record to b and returns why its payload
// is not in the body in full ("" when it is, or is invalid JSON).
func (t *Translator) appendLog(ev *Event, pl *payload, oversize bool, at int64, b *Batch) string {
	lr := b.logs.AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(at))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Received))
	lr.SetEventName(ev.EventType)
	sevNum, sevText := severity(ev.EventType, pl.fields)
	lr.SetSeverityNumber(sevNum)
	lr.SetSeverityText(sevText)
	putEventAttributes(lr.Attributes(), ev, pl.fields)

	_, dropByType := t.dropTypes[ev.EventType]
	switch {
	case dropByType:
		lr.Attributes().PutStr("commbus.payload.dropped", DropReasonEventType)
		lr.Attributes().PutInt("commbus.payload.size", int64(len(ev.Payload)))
		return DropReasonEventType
	case oversize:
		t.putOversizeBody(lr, ev)
		return DropReasonOversize
	case !pl.valid:
		t.putInvalidBody(lr, ev)
	default:
		t.putParsedBody(lr, ev.EventType, pl)
	}
	return ""
}

// putEventAttributes puts the attributes every record has: the event type,
// its source and the Jeeves ids the payload names.
func putEventAttributes(attrs pcommon.Map, ev *Event, fields map[string]any) {
	attrs.EnsureCapacity(6)
	attrs.PutStr("commbus.event_type", ev.EventType)
	if ev.Source != "" {
		attrs.PutStr("commbus.source", ev.Source)
	}
	if fields == nil {
		return
	}
	if pid := processID(fields); pid != "" {
		attrs.PutStr("jeeves.process.id", pid)
	}
	if s := str(fields["session_id"]); s != "" {
		attrs.PutStr("jeeves.session.id", s)
	}
	if s := str(fields["request_id"]); s != "" {
		attrs.PutStr("jeeves.request.id", s)
	}
}

// putOversizeBody keeps the first MaxPayloadBytes of the payload as a string
// body, or no body when oversize payloads are dropped or the payload carries
// user text (never cut raw, the cut could keep any of it).
func (t *Translator) putOversizeBody(lr plog.LogRecord, ev *Event) {
	attrs := lr.Attributes()
	attrs.PutInt("commbus.payload.size", int64(len(ev.Payload)))
	if t.cfg.Oversize == OversizeDrop || (t.hasUserText(ev.EventType) && t.cfg.UserText != TextKeep) {
		attrs.PutStr("commbus.payload.dropped", DropReasonOversize)
		return
	}
	attrs.PutBool("commbus.payload.truncated", true)
	lr.Body().SetStr(truncateUTF8(ev.Payload, t.cfg.MaxPayloadBytes))
}

// putInvalidBody keeps a payload that is not JSON as a string body; the
// unparsed text of an event that carries user text is user text.
func (t *Translator) putInvalidBody(lr plog.LogRecord, ev *Event) {
	attrs := lr.Attributes()
	attrs.PutBool("commbus.payload.invalid_json", true)
	body := ev.Payload
	if t.hasUserText(ev.EventType) {
		switch t.cfg.UserText {
		case TextDrop:
			body = ""
			attrs.PutStr("commbus.user_text", string(TextDrop))
		case TextTruncate:
			if len(body) > t.cfg.UserTextMaxBytes {
				body = truncateUTF8(body, t.cfg.UserTextMaxBytes)
				attrs.PutStr("commbus.user_text", string(TextTruncate))
			}
		}
	}
	if body != "" {
		lr.Body().SetStr(body)
	}
}

// putParsedBody writes the parsed payload as the body, after applying the
// user text policy to its user text fields.
func (t *Translator) putParsedBody(lr plog.LogRecord, eventType string, pl *payload) {
	if pl.fields != nil && t.hasUserText(eventType) && t.cfg.UserText != TextKeep {
		if t.applyUserText(eventType, pl.fields) {
			lr.Attributes().PutStr("commbus.user_text", string(t.cfg.UserText))
		}
	}
	putValue(lr.Body(), pl.parsed)
}

// processID is the process an event names: pid (kernel events) else
// process_id (pipeline.agent_completed); "" when neither is present.
func processID(fields map[string]any) string {
	if pid := str(fields["pid"]); pid != "" {
		return pid
	}
	return str(fields["process_id"])
}

func (t *Translator) hasUserText(eventType string) bool {
	_, ok := userTextFields[eventType]
	return ok
}

// applyUserText drops or truncates the user text fields of fields in place
// and reports whether it changed anything.
func (t *Translator) applyUserText(eventType string, fields map[string]any) bool {
	changed := false
	for _, k := range userTextFields[eventType] {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if t.cfg.UserText == TextDrop {
			delete(fields, k)
			changed = true
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			raw, err := json.Marshal(v)
			if err != nil {
				delete(fields, k)
				changed = true
				continue
			}
			s = string(raw)
		}
		if len(s) > t.cfg.UserTextMaxBytes || !isStr {
			fields[k] = truncateUTF8(s, t.cfg.UserTextMaxBytes)
			changed = true
		}
	}
	return changed
}
