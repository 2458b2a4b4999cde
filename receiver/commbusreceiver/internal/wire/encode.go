package wire // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"

import (
	"bytes"
	"encoding/binary"

	"github.com/vmihailenco/msgpack/v5"
)

// Encoder builds complete frames. Keys are written in a fixed order so the
// bytes are deterministic. The returned slices alias an internal buffer and
// are valid until the next call; an Encoder must not be shared between
// goroutines.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	err error
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.SetSortMapKeys(true)
	return e
}

// begin starts a frame: 4 placeholder length bytes and the type byte.
func (e *Encoder) begin(typ byte) {
	e.buf.Reset()
	e.err = nil
	e.buf.Write([]byte{0, 0, 0, 0, typ})
}

// end patches the length and returns the frame.
func (e *Encoder) end() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	b := e.buf.Bytes()
	if len(b)-4 > MaxFrameLength {
		return nil, &FrameTooLargeError{Length: uint32(min(len(b)-4, 1<<32-1)), Limit: MaxFrameLength}
	}
	binary.BigEndian.PutUint32(b[:4], uint32(len(b)-4))
	return b, nil
}

func (e *Encoder) str(s string) {
	if e.err == nil {
		e.err = e.enc.EncodeString(s)
	}
}

func (e *Encoder) mapLen(n int) {
	if e.err == nil {
		e.err = e.enc.EncodeMapLen(n)
	}
}

func (e *Encoder) int(n int64) {
	if e.err == nil {
		e.err = e.enc.EncodeInt(n)
	}
}

func (e *Encoder) bool(b bool) {
	if e.err == nil {
		e.err = e.enc.EncodeBool(b)
	}
}

func (e *Encoder) value(v any) {
	if e.err == nil {
		e.err = e.enc.Encode(v)
	}
}

// requestHead starts a REQUEST frame {id, service, method, body} up to the body's key; the caller
// encodes the body and ends the frame.
func (e *Encoder) requestHead(id, service, method string) {
	e.begin(TypeRequest)
	e.mapLen(4)
	e.str("id")
	e.str(id)
	e.str("service")
	e.str(service)
	e.str("method")
	e.str(method)
	e.str("body")
}

// Request encodes a REQUEST frame {id, service, method, body}. body is
// encoded generically (maps with sorted keys).
func (e *Encoder) Request(id, service, method string, body any) ([]byte, error) {
	e.requestHead(id, service, method)
	e.value(body)
	return e.end()
}

// Publish encodes a commbus.Publish REQUEST. An empty source is omitted.
func (e *Encoder) Publish(id string, ev Event) ([]byte, error) {
	e.requestHead(id, "commbus", "Publish")
	if ev.Source == "" {
		e.mapLen(2)
	} else {
		e.mapLen(3)
	}
	e.str("event_type")
	e.str(ev.EventType)
	e.str("payload")
	e.str(ev.Payload)
	if ev.Source != "" {
		e.str("source")
		e.str(ev.Source)
	}
	return e.end()
}

// Subscribe encodes a commbus.Subscribe REQUEST. An empty subscriberID is
// omitted (the kernel then picks ipc-sub-<uuid>).
func (e *Encoder) Subscribe(id string, sb SubscribeBody) ([]byte, error) {
	e.requestHead(id, "commbus", "Subscribe")
	if sb.SubscriberID == "" {
		e.mapLen(1)
	} else {
		e.mapLen(2)
	}
	e.str("event_types")
	if e.err == nil {
		e.err = e.enc.EncodeArrayLen(len(sb.EventTypes))
	}
	for _, t := range sb.EventTypes {
		e.str(t)
	}
	if sb.SubscriberID != "" {
		e.str("subscriber_id")
		e.str(sb.SubscriberID)
	}
	return e.end()
}

// StreamChunk encodes a subscription STREAM_CHUNK
// {id, body: {event_type, payload, timestamp_ms, source}}.
func (e *Encoder) StreamChunk(id string, ev Event) ([]byte, error) {
	e.begin(TypeStreamChunk)
	e.mapLen(2)
	e.str("id")
	e.str(id)
	e.str("body")
	e.mapLen(4)
	e.str("event_type")
	e.str(ev.EventType)
	e.str("payload")
	e.str(ev.Payload)
	e.str("timestamp_ms")
	e.int(ev.TimestampMs)
	e.str("source")
	e.str(ev.Source)
	return e.end()
}

// streamEnd encodes a STREAM_END frame {id}.
func (e *Encoder) streamEnd(id string) ([]byte, error) {
	e.begin(TypeStreamEnd)
	e.mapLen(1)
	e.str("id")
	e.str(id)
	return e.end()
}

// PublishResponse encodes the RESPONSE to Publish:
// {id, ok: true, body: {success: true, delivered: n}}.
func (e *Encoder) PublishResponse(id string, delivered int) ([]byte, error) {
	e.begin(TypeResponse)
	e.mapLen(3)
	e.str("id")
	e.str(id)
	e.str("ok")
	e.bool(true)
	e.str("body")
	e.mapLen(2)
	e.str("success")
	e.bool(true)
	e.str("delivered")
	e.int(int64(delivered))
	return e.end()
}

// Error encodes an ERROR frame {id, ok: false, error: {code, message}};
// retryable errors also carry retryable: true and, when set,
// kernel_queue_capacity, inside the error map as a saturated kernel does.
func (e *Encoder) Error(pe *ProtocolError) ([]byte, error) {
	e.begin(TypeError)
	e.mapLen(3)
	e.str("id")
	e.str(pe.ID)
	e.str("ok")
	e.bool(false)
	e.str("error")
	n := 2
	if pe.Retryable {
		n++
		if pe.QueueCapacity > 0 {
			n++
		}
	}
	e.mapLen(n)
	e.str("code")
	e.str(pe.Code)
	e.str("message")
	e.str(pe.Message)
	if pe.Retryable {
		e.str("retryable")
		e.bool(true)
		if pe.QueueCapacity > 0 {
			e.str("kernel_queue_capacity")
			e.int(int64(pe.QueueCapacity))
		}
	}
	return e.end()
}
