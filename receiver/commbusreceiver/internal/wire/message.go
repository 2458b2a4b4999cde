package wire // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Error codes of the protocol.
const (
	CodeNotFound           = "NOT_FOUND"
	CodeInvalidArgument    = "INVALID_ARGUMENT"
	CodeFailedPrecondition = "FAILED_PRECONDITION"
	CodeResourceExhausted  = "RESOURCE_EXHAUSTED"
	CodeUnavailable        = "UNAVAILABLE"
	CodeCancelled          = "CANCELLED"
	CodeTimeout            = "TIMEOUT"
	CodeInternal           = "INTERNAL"
)

// codes lists every error code of the protocol.
var codes = []string{
	CodeNotFound, CodeInvalidArgument, CodeFailedPrecondition, CodeResourceExhausted,
	CodeUnavailable, CodeCancelled, CodeTimeout, CodeInternal,
}

// Reasons used for decode-error telemetry. They are a fixed set so that they
// can be metric attribute values.
const (
	ReasonInvalidMsgpack   = "invalid_msgpack"
	ReasonInvalidRequest   = "invalid_request"
	ReasonInvalidBody      = "invalid_body"
	ReasonUnknownFrameType = "unknown_frame_type"
	ReasonUnexpectedFrame  = "unexpected_frame"
	ReasonZeroLength       = "zero_length"
	ReasonFrameTooLarge    = "frame_too_large"
	ReasonTruncated        = "truncated"
	ReasonInvalidEvent     = "invalid_event"
	ReasonErrorFrame       = "error_frame"
)

// ProtocolError is the content of an ERROR frame:
// {id, ok: false, error: {code, message[, retryable, kernel_queue_capacity]}}.
// Reason is local only (telemetry) and never sent.
type ProtocolError struct {
	ID            string
	Code          string
	Message       string
	Retryable     bool
	QueueCapacity int
	Reason        string
}

func (e *ProtocolError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s (id %q)", e.Code, e.Message, e.ID)
}

// Request is a decoded REQUEST frame. Body is the raw msgpack of the body; it
// aliases the frame payload.
type Request struct {
	ID      string
	Service string
	Method  string
	Body    []byte
}

// Event is the body of a Publish request or of a Subscribe STREAM_CHUNK.
// TimestampMs is 0 when the frame carried none (Publish never does).
type Event struct {
	EventType   string
	Payload     string
	Source      string
	TimestampMs int64
}

// SubscribeBody is the body of commbus.Subscribe.
type SubscribeBody struct {
	EventTypes   []string
	SubscriberID string
}

// HandlerBody is the body of commbus.Send and commbus.Query: the message type
// (command_type or query_type), its JSON payload and the optional source.
type HandlerBody struct {
	Type      string
	Payload   string
	Source    string
	TimeoutMs int64
}

// Decoder decodes protocol messages. It reuses one msgpack decoder and one
// byte reader, so a Decoder must not be shared between goroutines.
type Decoder struct {
	br  bytes.Reader
	dec *msgpack.Decoder
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.dec = msgpack.NewDecoder(&d.br)
	return d
}

func (d *Decoder) reset(b []byte) *msgpack.Decoder {
	d.br.Reset(b)
	d.dec.ResetReader(&d.br)
	return d.dec
}

var (
	errWrongType  = errors.New("wrong type")
	errNotAString = errors.New("map keys must be strings")
	errTrailing   = errors.New("trailing bytes after the message")
)

// maxDepth bounds the nesting of a msgpack value. Protocol bodies nest a few
// levels; msgpack's own Skip and DecodeInterface recurse once per level with
// no bound, so a frame of nested one-element arrays would overflow the
// goroutine stack, which is fatal, not a panic.
const maxDepth = 100

// maxPrealloc caps what a length header may preallocate: a header can claim
// 4 billion elements in 5 bytes.
const maxPrealloc = 1024

var errTooDeep = fmt.Errorf("msgpack value nested deeper than %d levels", maxDepth)

func isArrayCode(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

func isMapCode(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

// skip skips one value like msgpack's Skip, with nesting bounded.
func skip(dec *msgpack.Decoder) error { return skipDepth(dec, 0) }

func skipDepth(dec *msgpack.Decoder, depth int) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	var n int
	switch {
	case isArrayCode(c):
		n, err = dec.DecodeArrayLen()
	case isMapCode(c):
		n, err = dec.DecodeMapLen()
		n *= 2
	default:
		// Scalars, strings, bin and ext do not nest.
		return dec.Skip()
	}
	if err != nil {
		return err
	}
	if depth >= maxDepth {
		return errTooDeep
	}
	// A length beyond the input fails at its end; nothing is allocated.
	for range n {
		if err := skipDepth(dec, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// decodeValue decodes one value generically (maps become map[string]any)
// like msgpack's DecodeInterface, with nesting and preallocation bounded.
func decodeValue(dec *msgpack.Decoder, depth int) (any, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case isArrayCode(c):
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		s := make([]any, 0, min(n, maxPrealloc))
		for range n {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case isMapCode(c):
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		n, err := dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, min(n, maxPrealloc))
		for range n {
			k, err := dec.DecodeString()
			if err != nil {
				return nil, err
			}
			if m[k], err = decodeValue(dec, depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return dec.DecodeInterface()
}

// walkMap decodes a map header and calls fn with each key; fn must consume the
// value. Keys must be msgpack str.
func walkMap(dec *msgpack.Decoder, fn func(key string) error) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	if n < 0 {
		return errWrongType
	}
	for range n {
		c, err := dec.PeekCode()
		if err != nil {
			return err
		}
		if !msgpcode.IsString(c) {
			return errNotAString
		}
		key, err := dec.DecodeString()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// stringField decodes a value that must be a msgpack str. ok is false, with
// the value skipped, when it has another type.
func stringField(dec *msgpack.Decoder) (s string, ok bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return "", false, err
	}
	if !msgpcode.IsString(c) {
		return "", false, skip(dec)
	}
	s, err = dec.DecodeString()
	return s, err == nil, err
}

// optionalStringField is stringField where nil means absent.
func optionalStringField(dec *msgpack.Decoder) (s string, ok bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return "", false, err
	}
	if c == msgpcode.Nil {
		return "", true, skip(dec)
	}
	return stringField(dec)
}

// intField decodes a msgpack integer.
func intField(dec *msgpack.Decoder) (n int64, ok bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, false, err
	}
	isInt := msgpcode.IsFixedNum(c)
	switch c {
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64,
		msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		isInt = true
	}
	if !isInt {
		return 0, false, skip(dec)
	}
	n, err = dec.DecodeInt64()
	return n, err == nil, err
}

// optionalIntField is intField where nil means absent (0, ok).
func optionalIntField(dec *msgpack.Decoder) (n int64, ok bool, err error) {
	c, err := dec.PeekCode()
	if err != nil {
		return 0, false, err
	}
	if c == msgpcode.Nil {
		return 0, true, skip(dec)
	}
	return intField(dec)
}

func (d *Decoder) finish() error {
	if d.br.Len() != 0 {
		return errTrailing
	}
	return nil
}

// DecodeRequest decodes a REQUEST payload and checks the four required
// fields. The returned error is the ERROR frame the protocol answers with:
// id "" for undecodable msgpack, the request id (when it was readable) for
// missing or mistyped fields. The connection stays open in both cases.
func (d *Decoder) DecodeRequest(payload []byte) (Request, *ProtocolError) {
	dec := d.reset(payload)
	var (
		req                          Request
		idOK, svcOK, methodOK, hasBd bool
		idSeen, svcSeen, methodSeen  bool
	)
	err := walkMap(dec, func(key string) error {
		var err error
		switch key {
		case "id":
			idSeen = true
			req.ID, idOK, err = stringField(dec)
		case "service":
			svcSeen = true
			req.Service, svcOK, err = stringField(dec)
		case "method":
			methodSeen = true
			req.Method, methodOK, err = stringField(dec)
		case "body":
			start := len(payload) - d.br.Len()
			if err = skip(dec); err == nil {
				req.Body = payload[start : len(payload)-d.br.Len()]
				hasBd = true
			}
		default:
			err = skip(dec)
		}
		return err
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return Request{}, &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: " + err.Error(), Reason: ReasonInvalidMsgpack}
	}
	invalid := func(id, msg string) (Request, *ProtocolError) {
		return Request{}, &ProtocolError{ID: id, Code: CodeInvalidArgument, Message: msg, Reason: ReasonInvalidRequest}
	}
	if !idOK || req.ID == "" {
		return invalid("", requiredMessage("id", idSeen, "a non-empty string"))
	}
	if !svcOK || req.Service == "" {
		return invalid(req.ID, requiredMessage("service", svcSeen, "a non-empty string"))
	}
	if !methodOK || req.Method == "" {
		return invalid(req.ID, requiredMessage("method", methodSeen, "a non-empty string"))
	}
	if !hasBd {
		return invalid(req.ID, "missing required request field: body")
	}
	return req, nil
}

func requiredMessage(field string, seen bool, want string) string {
	if !seen {
		return "missing required request field: " + field
	}
	return fmt.Sprintf("request field %s must be %s", field, want)
}

func bodyError(id, format string, args ...any) *ProtocolError {
	return &ProtocolError{ID: id, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...), Reason: ReasonInvalidBody}
}

// DecodePublish decodes the body of commbus.Publish:
// {event_type, payload (JSON text), source?}. id is used for the error.
func (d *Decoder) DecodePublish(id string, body []byte) (Event, *ProtocolError) {
	b, perr := d.decodeTypedBody(id, "event_type", false, "publish body", body)
	if perr != nil {
		return Event{}, perr
	}
	return Event{EventType: b.Type, Payload: b.Payload, Source: b.Source}, nil
}

// DecodeSubscribe decodes the body of commbus.Subscribe:
// {event_types: [non-empty list of names], subscriber_id?}.
func (d *Decoder) DecodeSubscribe(id string, body []byte) (SubscribeBody, *ProtocolError) {
	dec := d.reset(body)
	var (
		sb             SubscribeBody
		typesOK, idOK  = false, true
		typesSeen      bool
		elementInvalid bool
	)
	err := walkMap(dec, func(key string) error {
		switch key {
		case "event_types":
			typesSeen = true
			c, err := dec.PeekCode()
			if err != nil {
				return err
			}
			if !isArrayCode(c) {
				return skip(dec)
			}
			n, err := dec.DecodeArrayLen()
			if err != nil {
				return err
			}
			typesOK = true
			sb.EventTypes = make([]string, 0, min(n, 64))
			for range n {
				s, ok, err := stringField(dec)
				if err != nil {
					return err
				}
				if !ok || s == "" {
					elementInvalid = true
					continue
				}
				sb.EventTypes = append(sb.EventTypes, s)
			}
			return nil
		case "subscriber_id":
			var err error
			sb.SubscriberID, idOK, err = optionalStringField(dec)
			return err
		default:
			return skip(dec)
		}
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return SubscribeBody{}, bodyError(id, "subscribe body must be a map with string keys")
	}
	if !typesOK || elementInvalid || len(sb.EventTypes) == 0 {
		return SubscribeBody{}, bodyError(id, "%s", requiredMessage("event_types", typesSeen, "a non-empty list of non-empty strings"))
	}
	if !idOK {
		return SubscribeBody{}, bodyError(id, "subscriber_id must be a string")
	}
	return sb, nil
}

// DecodeHandlerBody decodes the body of commbus.Send (typeKey "command_type")
// or commbus.Query (typeKey "query_type").
func (d *Decoder) DecodeHandlerBody(id, typeKey string, body []byte) (HandlerBody, *ProtocolError) {
	return d.decodeTypedBody(id, typeKey, true, "body", body)
}

// decodeTypedBody decodes the shape Publish, Send and Query bodies share:
// {<typeKey>: non-empty string, payload: string, source?: string} plus, when
// withTimeout, timeout_ms?: non-negative int (otherwise that key is ignored
// like any unknown one). what names the body in the not-a-map message.
func (d *Decoder) decodeTypedBody(id, typeKey string, withTimeout bool, what string, body []byte) (HandlerBody, *ProtocolError) {
	dec := d.reset(body)
	var (
		hb                          HandlerBody
		typeOK, payOK, srcOK, tmoOK = false, false, true, true
		typeSeen, paySeen           bool
	)
	err := walkMap(dec, func(key string) error {
		var err error
		switch {
		case key == typeKey:
			typeSeen = true
			hb.Type, typeOK, err = stringField(dec)
		case key == "payload":
			paySeen = true
			hb.Payload, payOK, err = stringField(dec)
		case key == "source":
			hb.Source, srcOK, err = optionalStringField(dec)
		case key == "timeout_ms" && withTimeout:
			hb.TimeoutMs, tmoOK, err = optionalIntField(dec)
		default:
			err = skip(dec)
		}
		return err
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return HandlerBody{}, bodyError(id, "%s must be a map with string keys", what)
	}
	if !typeOK || hb.Type == "" {
		return HandlerBody{}, bodyError(id, "%s", requiredMessage(typeKey, typeSeen, "a non-empty string"))
	}
	if !payOK {
		return HandlerBody{}, bodyError(id, "%s", requiredMessage("payload", paySeen, "a JSON text string"))
	}
	if !srcOK {
		return HandlerBody{}, bodyError(id, "source must be a string")
	}
	if !tmoOK || hb.TimeoutMs < 0 {
		return HandlerBody{}, bodyError(id, "timeout_ms must be a non-negative integer")
	}
	return hb, nil
}

// DecodeStreamChunk decodes a STREAM_CHUNK payload of a subscription:
// {id, body: {event_type, payload, timestamp_ms, source}}. Bad input gives a
// *ProtocolError whose Reason is ReasonInvalidMsgpack or ReasonInvalidEvent;
// the subscriber only counts it, it never answers a kernel.
func (d *Decoder) DecodeStreamChunk(payload []byte) (id string, ev Event, perr *ProtocolError) {
	dec := d.reset(payload)
	var (
		ce       chunkEvent
		bodySeen bool
	)
	err := walkMap(dec, func(key string) error {
		switch key {
		case "id":
			s, _, err := stringField(dec)
			id = s
			return err
		case "body":
			bodySeen = true
			return ce.decode(dec)
		default:
			return skip(dec)
		}
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return "", Event{}, &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: " + err.Error(), Reason: ReasonInvalidMsgpack}
	}
	if msg := ce.problem(bodySeen); msg != "" {
		return id, Event{}, &ProtocolError{ID: id, Code: CodeInvalidArgument, Message: msg, Reason: ReasonInvalidEvent}
	}
	return id, ce.ev, nil
}

// chunkEvent is the event of a STREAM_CHUNK body while it is decoded.
type chunkEvent struct {
	ev            Event
	typeOK, payOK bool
	typeErr       string // the last field of the wrong type, "" when none
}

// decode reads the chunk body, a map of event fields.
func (ce *chunkEvent) decode(dec *msgpack.Decoder) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	if !isMapCode(c) {
		ce.typeErr = "chunk body must be a map"
		return skip(dec)
	}
	return walkMap(dec, func(key string) error { return ce.decodeField(dec, key) })
}

func (ce *chunkEvent) decodeField(dec *msgpack.Decoder, key string) error {
	var (
		ok  bool
		err error
	)
	switch key {
	case "event_type":
		ce.ev.EventType, ce.typeOK, err = stringField(dec)
	case "payload":
		ce.ev.Payload, ce.payOK, err = stringField(dec)
	case "source":
		ce.ev.Source, ok, err = optionalStringField(dec)
		if err == nil && !ok {
			ce.typeErr = "source must be a string"
		}
	case "timestamp_ms":
		ce.ev.TimestampMs, ok, err = optionalIntField(dec)
		if err == nil && !ok {
			ce.typeErr = "timestamp_ms must be an integer"
		}
	default:
		err = skip(dec)
	}
	return err
}

// problem is what makes the decoded chunk unusable, "" when nothing does.
func (ce *chunkEvent) problem(bodySeen bool) string {
	switch {
	case !bodySeen:
		return "chunk has no body"
	case ce.typeErr != "":
		return ce.typeErr
	case !ce.typeOK || ce.ev.EventType == "":
		return "event_type must be a non-empty string"
	case !ce.payOK:
		return "payload must be a string"
	}
	return ""
}

// Reply is a decoded RESPONSE or ERROR frame (client side).
type Reply struct {
	ID   string
	OK   bool
	Body any
	Err  *ProtocolError
}

// DecodeReply decodes a RESPONSE, ERROR or STREAM_END payload into a Reply.
// Bodies are decoded generically (maps become map[string]any).
func (d *Decoder) DecodeReply(payload []byte) (Reply, error) {
	dec := d.reset(payload)
	var r Reply
	err := walkMap(dec, func(key string) error {
		var err error
		switch key {
		case "id":
			r.ID, _, err = stringField(dec)
		case "ok":
			r.OK, err = dec.DecodeBool()
		case "body":
			r.Body, err = decodeValue(dec, 0)
		case "error":
			r.Err = &ProtocolError{}
			err = walkMap(dec, func(k string) error {
				var err error
				switch k {
				case "code":
					r.Err.Code, _, err = stringField(dec)
				case "message":
					r.Err.Message, _, err = stringField(dec)
				case "retryable":
					r.Err.Retryable, err = dec.DecodeBool()
				case "kernel_queue_capacity":
					var n int64
					n, _, err = intField(dec)
					r.Err.QueueCapacity = int(n)
				default:
					err = skip(dec)
				}
				return err
			})
		default:
			err = skip(dec)
		}
		return err
	})
	if err == nil {
		err = d.finish()
	}
	if err != nil {
		return Reply{}, fmt.Errorf("invalid reply: %w", err)
	}
	if r.Err != nil {
		r.Err.ID = r.ID
	}
	return r, nil
}
