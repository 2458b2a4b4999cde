package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// unhex turns "00 01 a2 ..." (spaces and comments after '#' per line allowed)
// into bytes.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.ReplaceAll(strings.TrimSpace(line), " ", ""))
	}
	b, err := hex.DecodeString(clean.String())
	require.NoError(t, err)
	return b
}

// publishFrameHex is a commbus.Publish REQUEST written by hand from
// docs/commbus-protocol.md#framing: u32 BE length (type byte + payload),
// type 0x01, then a msgpack fixmap of four str keys.
const publishFrameHex = `
00 00 00 6b                         # length 107 = 1 type byte + 106 payload bytes
01                                  # REQUEST
84                                  # fixmap, 4 entries
a2 6964 a2 7231                     # "id": "r1"
a7 73657276696365 a7 636f6d6d627573 # "service": "commbus"
a6 6d6574686f64 a7 5075626c697368   # "method": "Publish"
a4 626f6479 83                      # "body": fixmap, 3 entries
aa 6576656e745f74797065             # "event_type"
af 70726f636573732e63726561746564   # "process.created"
a7 7061796c6f6164                   # "payload"
ac 7b22706964223a227031227d         # {"pid":"p1"}
a6 736f75726365 a6 6b65726e656c     # "source": "kernel"
`

func TestPublishFrameBytesMatchSpec(t *testing.T) {
	want := unhex(t, publishFrameHex)
	got, err := NewEncoder().Publish("r1", Event{EventType: "process.created", Payload: `{"pid":"p1"}`, Source: "kernel"})
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got))

	fr := NewReader(bytes.NewReader(want), 0)
	f, err := fr.ReadFrame()
	require.NoError(t, err)
	assert.Equal(t, TypeRequest, f.Type)
	d := NewDecoder()
	req, perr := d.DecodeRequest(f.Payload)
	require.Nil(t, perr)
	assert.Equal(t, "r1", req.ID)
	assert.Equal(t, "commbus", req.Service)
	assert.Equal(t, "Publish", req.Method)
	ev, perr := d.DecodePublish(req.ID, req.Body)
	require.Nil(t, perr)
	assert.Equal(t, Event{EventType: "process.created", Payload: `{"pid":"p1"}`, Source: "kernel"}, ev)
	_, err = fr.ReadFrame()
	assert.ErrorIs(t, err, io.EOF)
}

func TestExactByteVectors(t *testing.T) {
	e := NewEncoder()
	tests := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{
			name: "stream end",
			got:  func() ([]byte, error) { return e.streamEnd("r1") },
			want: "00000008 04 81 a26964 a27231",
		},
		{
			name: "error not found",
			got: func() ([]byte, error) {
				return e.Error(&ProtocolError{Code: CodeNotFound, Message: "x"})
			},
			// {id:"", ok:false, error:{code:"NOT_FOUND", message:"x"}}
			want: "0000002a ff 83 a26964 a0 a26f6b c2 a56572726f72 82 a4636f6465 a94e4f545f464f554e44 a76d657373616765 a178",
		},
		{
			name: "error retryable with capacity",
			got: func() ([]byte, error) {
				return e.Error(&ProtocolError{ID: "a", Code: CodeResourceExhausted, Message: "", Retryable: true, QueueCapacity: 300})
			},
			want: "00000057 ff 83 a26964 a161 a26f6b c2 a56572726f72 84 a4636f6465 b2" + hex.EncodeToString([]byte("RESOURCE_EXHAUSTED")) +
				" a76d657373616765 a0 a9" + hex.EncodeToString([]byte("retryable")) + " c3 b5" + hex.EncodeToString([]byte("kernel_queue_capacity")) + " cd012c",
		},
		{
			name: "publish response",
			got:  func() ([]byte, error) { return e.PublishResponse("r1", 3) },
			// {id:"r1", ok:true, body:{success:true, delivered:3}}
			want: "00000026 02 83 a26964 a27231 a26f6b c3 a4626f6479 82 a773756363657373 c3 a9" + hex.EncodeToString([]byte("delivered")) + " 03",
		},
		{
			name: "stream chunk",
			got: func() ([]byte, error) {
				return e.StreamChunk("s", Event{EventType: "x", Payload: "{}", Source: "kernel", TimestampMs: 1700000000000})
			},
			want: "00000049 03 82 a26964 a173 a4626f6479 84 aa" + hex.EncodeToString([]byte("event_type")) + " a178 a7" + hex.EncodeToString([]byte("payload")) +
				" a27b7d ac" + hex.EncodeToString([]byte("timestamp_ms")) + " cf0000018bcfe56800 a6" + hex.EncodeToString([]byte("source")) + " a6" + hex.EncodeToString([]byte("kernel")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(unhex(t, tt.want)), hex.EncodeToString(got))
		})
	}
}

func TestRoundTrip(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder()

	t.Run("subscribe", func(t *testing.T) {
		for _, sb := range []SubscribeBody{
			{EventTypes: []string{"process.created"}},
			{EventTypes: []string{"a", "b", "c"}, SubscriberID: "otelcol-jeeves"},
		} {
			f, err := e.Subscribe("id-1", sb)
			require.NoError(t, err)
			fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
			require.NoError(t, err)
			req, perr := d.DecodeRequest(fr.Payload)
			require.Nil(t, perr)
			assert.Equal(t, "Subscribe", req.Method)
			got, perr := d.DecodeSubscribe(req.ID, req.Body)
			require.Nil(t, perr)
			assert.Equal(t, sb, got)
		}
	})

	t.Run("stream chunk", func(t *testing.T) {
		for _, ev := range []Event{
			{EventType: "process.created", Payload: `{"pid":"1"}`, Source: "kernel", TimestampMs: 1},
			{EventType: "x", Payload: "", Source: "", TimestampMs: 0},
			{EventType: "y", Payload: strings.Repeat("z", 70000), Source: "p-1", TimestampMs: 1 << 40},
			{EventType: "neg", Payload: "{}", Source: "k", TimestampMs: -5},
		} {
			f, err := e.StreamChunk("sub", ev)
			require.NoError(t, err)
			fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
			require.NoError(t, err)
			assert.Equal(t, TypeStreamChunk, fr.Type)
			id, got, perr := d.DecodeStreamChunk(fr.Payload)
			require.Nil(t, perr)
			assert.Equal(t, "sub", id)
			assert.Equal(t, ev, got)
		}
	})

	t.Run("publish without source", func(t *testing.T) {
		f, err := e.Publish("p", Event{EventType: "AgentCompleted", Payload: `{"status":"success"}`})
		require.NoError(t, err)
		fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
		require.NoError(t, err)
		req, perr := d.DecodeRequest(fr.Payload)
		require.Nil(t, perr)
		ev, perr := d.DecodePublish(req.ID, req.Body)
		require.Nil(t, perr)
		assert.Equal(t, Event{EventType: "AgentCompleted", Payload: `{"status":"success"}`}, ev)
	})

	t.Run("replies", func(t *testing.T) {
		for _, pe := range []*ProtocolError{
			{ID: "q", Code: CodeNotFound, Message: "no handler"},
			{ID: "", Code: CodeResourceExhausted, Message: "full", Retryable: true, QueueCapacity: 12},
		} {
			f, err := e.Error(pe)
			require.NoError(t, err)
			fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
			require.NoError(t, err)
			assert.Equal(t, TypeError, fr.Type)
			r, err := d.DecodeReply(fr.Payload)
			require.NoError(t, err)
			assert.False(t, r.OK)
			assert.Equal(t, pe, r.Err)
		}
		f, err := e.PublishResponse("r", 2)
		require.NoError(t, err)
		fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
		require.NoError(t, err)
		r, err := d.DecodeReply(fr.Payload)
		require.NoError(t, err)
		assert.Equal(t, Reply{ID: "r", OK: true, Body: map[string]any{"success": true, "delivered": int8(2)}}, r)
	})

	t.Run("send and query bodies", func(t *testing.T) {
		f, err := e.Request("s", "commbus", "Query", map[string]any{"query_type": "GetSettings", "payload": "{}", "timeout_ms": 1000})
		require.NoError(t, err)
		fr, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
		require.NoError(t, err)
		req, perr := d.DecodeRequest(fr.Payload)
		require.Nil(t, perr)
		hb, perr := d.DecodeHandlerBody(req.ID, "query_type", req.Body)
		require.Nil(t, perr)
		assert.Equal(t, HandlerBody{Type: "GetSettings", Payload: "{}", TimeoutMs: 1000}, hb)
	})
}

func TestEveryErrorCode(t *testing.T) {
	assert.Equal(t, []string{
		"NOT_FOUND", "INVALID_ARGUMENT", "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED",
		"UNAVAILABLE", "CANCELLED", "TIMEOUT", "INTERNAL",
	}, codes)
	e := NewEncoder()
	d := NewDecoder()
	for _, c := range codes {
		f, err := e.Error(&ProtocolError{ID: "i", Code: c, Message: "m"})
		require.NoError(t, err)
		r, err := d.DecodeReply(f[5:])
		require.NoError(t, err)
		assert.Equal(t, c, r.Err.Code)
	}
}

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		limit int
		err   error
	}{
		{name: "clean eof", in: nil, err: io.EOF},
		{name: "short header", in: []byte{0, 0}, err: ErrTruncated},
		{name: "zero length", in: []byte{0, 0, 0, 0, 1}, err: ErrZeroLength},
		{name: "missing type byte", in: []byte{0, 0, 0, 1}, err: ErrTruncated},
		{name: "short payload", in: []byte{0, 0, 0, 5, 1, 0x80}, err: ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tt.in), tt.limit).ReadFrame()
			assert.ErrorIs(t, err, tt.err)
		})
	}

	t.Run("too large", func(t *testing.T) {
		// 5 MiB + 1: one byte above the protocol limit.
		_, err := NewReader(bytes.NewReader([]byte{0x00, 0x50, 0x00, 0x01, 1}), 0).ReadFrame()
		var tl *FrameTooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, uint32(MaxFrameLength+1), tl.Length)
		assert.Equal(t, "wire: frame length 5242881 exceeds the limit of 5242880 bytes", err.Error())
	})
	t.Run("exactly the limit is accepted", func(t *testing.T) {
		payload := make([]byte, MaxFrameLength-1)
		f, err := encodeFrame(TypeRequest, payload)
		require.NoError(t, err)
		got, err := NewReader(bytes.NewReader(f), 0).ReadFrame()
		require.NoError(t, err)
		assert.Len(t, got.Payload, MaxFrameLength-1)
		_, err = encodeFrame(TypeRequest, make([]byte, MaxFrameLength))
		require.Error(t, err)
	})
	t.Run("configured limit", func(t *testing.T) {
		f := AppendFrame(nil, TypeRequest, make([]byte, 100))
		_, err := NewReader(bytes.NewReader(f), 100).ReadFrame()
		var tl *FrameTooLargeError
		require.ErrorAs(t, err, &tl)
		assert.Equal(t, uint32(101), tl.Length)
	})
	t.Run("unknown type is a frame", func(t *testing.T) {
		f, err := NewReader(bytes.NewReader([]byte{0, 0, 0, 2, 0x07, 0x80}), 0).ReadFrame()
		require.NoError(t, err)
		assert.Equal(t, byte(0x07), f.Type)
		assert.False(t, KnownType(f.Type))
		assert.Equal(t, "0x07", TypeName(f.Type))
	})
}

func mp(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	require.NoError(t, enc.Encode(v))
	return buf.Bytes()
}

func TestDecodeRequestErrors(t *testing.T) {
	body := map[string]any{}
	tests := []struct {
		name    string
		payload []byte
		want    *ProtocolError
	}{
		{
			name:    "not msgpack",
			payload: []byte{0xc1},
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: msgpack: unexpected code=c1 decoding map length", Reason: ReasonInvalidMsgpack},
		},
		{
			name:    "array instead of map",
			payload: mp(t, []any{1, 2}),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: msgpack: unexpected code=92 decoding map length", Reason: ReasonInvalidMsgpack},
		},
		{
			name:    "integer key",
			payload: []byte{0x81, 0x01, 0x01},
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: map keys must be strings", Reason: ReasonInvalidMsgpack},
		},
		{
			name:    "trailing bytes",
			payload: append(mp(t, map[string]any{"id": "a", "service": "s", "method": "m", "body": body}), 0x00),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: trailing bytes after the message", Reason: ReasonInvalidMsgpack},
		},
		{
			name:    "truncated map",
			payload: []byte{0x84, 0xa2, 'i', 'd'},
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "invalid msgpack: EOF", Reason: ReasonInvalidMsgpack},
		},
		{
			name:    "missing id",
			payload: mp(t, map[string]any{"service": "s", "method": "m", "body": body}),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "missing required request field: id", Reason: ReasonInvalidRequest},
		},
		{
			name:    "integer id",
			payload: mp(t, map[string]any{"id": 7, "service": "s", "method": "m", "body": body}),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "request field id must be a non-empty string", Reason: ReasonInvalidRequest},
		},
		{
			name:    "binary id",
			payload: mp(t, map[string]any{"id": []byte("abc"), "service": "s", "method": "m", "body": body}),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "request field id must be a non-empty string", Reason: ReasonInvalidRequest},
		},
		{
			name:    "empty id",
			payload: mp(t, map[string]any{"id": "", "service": "s", "method": "m", "body": body}),
			want:    &ProtocolError{Code: CodeInvalidArgument, Message: "request field id must be a non-empty string", Reason: ReasonInvalidRequest},
		},
		{
			name:    "missing service keeps id",
			payload: mp(t, map[string]any{"id": "x1", "method": "m", "body": body}),
			want:    &ProtocolError{ID: "x1", Code: CodeInvalidArgument, Message: "missing required request field: service", Reason: ReasonInvalidRequest},
		},
		{
			name:    "method wrong type",
			payload: mp(t, map[string]any{"id": "x1", "service": "s", "method": true, "body": body}),
			want:    &ProtocolError{ID: "x1", Code: CodeInvalidArgument, Message: "request field method must be a non-empty string", Reason: ReasonInvalidRequest},
		},
		{
			name:    "missing body",
			payload: mp(t, map[string]any{"id": "x1", "service": "s", "method": "m"}),
			want:    &ProtocolError{ID: "x1", Code: CodeInvalidArgument, Message: "missing required request field: body", Reason: ReasonInvalidRequest},
		},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := d.DecodeRequest(tt.payload)
			assert.Equal(t, tt.want, perr)
		})
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	d := NewDecoder()
	pub := func(v any) *ProtocolError { _, pe := d.DecodePublish("i", mp(t, v)); return pe }
	sub := func(v any) *ProtocolError { _, pe := d.DecodeSubscribe("i", mp(t, v)); return pe }
	send := func(v any) *ProtocolError { _, pe := d.DecodeHandlerBody("i", "command_type", mp(t, v)); return pe }
	msg := func(pe *ProtocolError) string {
		if pe == nil {
			return ""
		}
		assert.Equal(t, "i", pe.ID)
		assert.Equal(t, CodeInvalidArgument, pe.Code)
		assert.Equal(t, ReasonInvalidBody, pe.Reason)
		return pe.Message
	}
	assert.Equal(t, "publish body must be a map with string keys", msg(pub("str")))
	assert.Equal(t, "missing required request field: event_type", msg(pub(map[string]any{"payload": "{}"})))
	assert.Equal(t, "request field event_type must be a non-empty string", msg(pub(map[string]any{"event_type": 1, "payload": "{}"})))
	assert.Equal(t, "request field payload must be a JSON text string", msg(pub(map[string]any{"event_type": "e", "payload": map[string]any{}})))
	assert.Equal(t, "source must be a string", msg(pub(map[string]any{"event_type": "e", "payload": "{}", "source": 3})))
	assert.Empty(t, msg(pub(map[string]any{"event_type": "e", "payload": "{}", "source": nil})))
	assert.Equal(t, "missing required request field: event_types", msg(sub(map[string]any{})))
	assert.Equal(t, "request field event_types must be a non-empty list of non-empty strings", msg(sub(map[string]any{"event_types": []string{}})))
	assert.Equal(t, "request field event_types must be a non-empty list of non-empty strings", msg(sub(map[string]any{"event_types": []any{"a", 1}})))
	assert.Equal(t, "request field event_types must be a non-empty list of non-empty strings", msg(sub(map[string]any{"event_types": "a"})))
	assert.Equal(t, "subscriber_id must be a string", msg(sub(map[string]any{"event_types": []string{"a"}, "subscriber_id": 1})))
	assert.Equal(t, "missing required request field: command_type", msg(send(map[string]any{"payload": "{}"})))
	assert.Equal(t, "timeout_ms must be a non-negative integer", msg(send(map[string]any{"command_type": "c", "payload": "{}", "timeout_ms": "x"})))
	assert.Empty(t, msg(send(map[string]any{"command_type": "c", "payload": "{}"})))
	assert.Equal(t, "body must be a map with string keys", msg(send([]string{"c"})))
	assert.Equal(t, "timeout_ms must be a non-negative integer", msg(send(map[string]any{"command_type": "c", "payload": "{}", "timeout_ms": -1})))
	// Publish has no timeout_ms: the key is ignored like any unknown one.
	assert.Empty(t, msg(pub(map[string]any{"event_type": "e", "payload": "{}", "timeout_ms": "x"})))
}

func TestDecodeStreamChunkErrors(t *testing.T) {
	d := NewDecoder()
	tests := []struct {
		name   string
		v      any
		reason string
		msg    string
	}{
		{name: "no body", v: map[string]any{"id": "s"}, reason: ReasonInvalidEvent, msg: "chunk has no body"},
		{name: "body not a map", v: map[string]any{"id": "s", "body": 1}, reason: ReasonInvalidEvent, msg: "chunk body must be a map"},
		{name: "no event type", v: map[string]any{"id": "s", "body": map[string]any{"payload": "{}"}}, reason: ReasonInvalidEvent, msg: "event_type must be a non-empty string"},
		{name: "payload not string", v: map[string]any{"id": "s", "body": map[string]any{"event_type": "e", "payload": map[string]any{}}}, reason: ReasonInvalidEvent, msg: "payload must be a string"},
		{name: "timestamp float", v: map[string]any{"id": "s", "body": map[string]any{"event_type": "e", "payload": "{}", "timestamp_ms": 1.5}}, reason: ReasonInvalidEvent, msg: "timestamp_ms must be an integer"},
		{name: "not a map", v: "x", reason: ReasonInvalidMsgpack, msg: "invalid msgpack: msgpack: unexpected code=a1 decoding map length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, pe := d.DecodeStreamChunk(mp(t, tt.v))
			require.NotNil(t, pe)
			assert.Equal(t, tt.reason, pe.Reason)
			assert.Equal(t, tt.msg, pe.Message)
		})
	}
}

// TestOptionalIntsMayBeNil pins that a nil timestamp_ms or timeout_ms means
// absent, not mistyped.
func TestOptionalIntsMayBeNil(t *testing.T) {
	d := NewDecoder()
	id, ev, pe := d.DecodeStreamChunk(mp(t, map[string]any{"id": "s", "body": map[string]any{"event_type": "e", "payload": "{}", "timestamp_ms": nil}}))
	require.Nil(t, pe)
	assert.Equal(t, "s", id)
	assert.Equal(t, Event{EventType: "e", Payload: "{}"}, ev)
	hb, pe := d.DecodeHandlerBody("q", "query_type", mp(t, map[string]any{"query_type": "Q", "payload": "{}", "timeout_ms": nil}))
	require.Nil(t, pe)
	assert.Equal(t, HandlerBody{Type: "Q", Payload: "{}"}, hb)
	hb, pe = d.DecodeHandlerBody("q", "query_type", mp(t, map[string]any{"query_type": "Q", "payload": "{}", "timeout_ms": 2500}))
	require.Nil(t, pe)
	assert.Equal(t, int64(2500), hb.TimeoutMs)
}

// FuzzDecodeFrame feeds arbitrary bytes through the frame reader and every
// body decoder. Nothing may panic, the reader never returns a payload above
// the limit, and whatever decodes re-encodes to something that decodes to the
// same value.
func FuzzDecodeFrame(f *testing.F) {
	e := NewEncoder()
	seed := func(b []byte, err error) {
		if err == nil {
			f.Add(append([]byte(nil), b...))
		}
	}
	seed(e.Publish("r1", Event{EventType: "process.created", Payload: `{"pid":"p1"}`, Source: "kernel"}))
	seed(e.Subscribe("s", SubscribeBody{EventTypes: []string{"a", "b"}, SubscriberID: "x"}))
	seed(e.StreamChunk("s", Event{EventType: "x", Payload: "{}", Source: "k", TimestampMs: 9}))
	seed(e.Error(&ProtocolError{ID: "a", Code: CodeNotFound, Message: "m", Retryable: true, QueueCapacity: 2}))
	seed(e.PublishResponse("a", 1))
	seed(e.Request("q", "commbus", "Query", map[string]any{"query_type": "Q", "payload": "{}", "timeout_ms": 5}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 3, 1, 0x81, 0xa1})
	f.Add([]byte{0, 0, 0, 7, 1, 0x81, 0xdb, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, in []byte) {
		fr := NewReader(bytes.NewReader(in), 1<<16)
		d := NewDecoder()
		for {
			frame, err := fr.ReadFrame()
			if err != nil {
				var tl *FrameTooLargeError
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrZeroLength) && !errors.As(err, &tl) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(frame.Payload)+1 > 1<<16 {
				t.Fatalf("payload of %d bytes above the limit", len(frame.Payload))
			}
			if req, perr := d.DecodeRequest(frame.Payload); perr == nil {
				if req.ID == "" || req.Service == "" || req.Method == "" {
					t.Fatalf("accepted request with empty field: %+v", req)
				}
				if ev, perr := d.DecodePublish(req.ID, req.Body); perr == nil {
					b, err := NewEncoder().Publish(req.ID, ev)
					if err != nil {
						t.Fatal(err)
					}
					req2, perr := d.DecodeRequest(b[5:])
					if perr != nil {
						t.Fatal(perr)
					}
					ev2, perr := d.DecodePublish(req2.ID, req2.Body)
					if perr != nil || ev2 != ev {
						t.Fatalf("publish round trip: %+v != %+v (%v)", ev2, ev, perr)
					}
				}
				_, _ = d.DecodeSubscribe(req.ID, req.Body)
				_, _ = d.DecodeHandlerBody(req.ID, "query_type", req.Body)
			} else if perr.Code != CodeInvalidArgument {
				t.Fatalf("unexpected code %s", perr.Code)
			}
			if id, ev, perr := d.DecodeStreamChunk(frame.Payload); perr == nil {
				b, err := NewEncoder().StreamChunk(id, ev)
				if err != nil {
					t.Fatal(err)
				}
				id2, ev2, perr := d.DecodeStreamChunk(b[5:])
				if perr != nil || id2 != id || ev2 != ev {
					t.Fatalf("chunk round trip: %+v != %+v (%v)", ev2, ev, perr)
				}
			}
			_, _ = d.DecodeReply(frame.Payload)
		}
	})
}

// BenchmarkDecodeStreamChunk measures reading one subscription frame and
// decoding its body: the per-event wire cost of subscribe mode.
func BenchmarkDecodeStreamChunk(b *testing.B) {
	frame, err := NewEncoder().StreamChunk("sub-1", Event{
		EventType: "process.state_changed", Source: "kernel", TimestampMs: 1700000000000,
		Payload: `{"pid":"proc-42","old_state":"RUNNING","new_state":"WAITING","reason":"clarification requested","session_id":"s-1"}`,
	})
	require.NoError(b, err)
	stream := bytes.Repeat(frame, 1024)
	r := bytes.NewReader(stream)
	fr := NewReader(r, 0)
	d := NewDecoder()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1024 == 0 {
			r.Reset(stream)
		}
		f, err := fr.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		if _, _, pe := d.DecodeStreamChunk(f.Payload); pe != nil {
			b.Fatal(pe)
		}
	}
}

// TestHostileNestingAndLengths pins that no frame within the size limit can
// crash the process: msgpack's own Skip and DecodeInterface recurse once per
// nesting level (a 5 MiB run of one-element arrays overflowed the goroutine
// stack, a fatal error) and preallocate whatever length a header claims (an
// array32 header of 0xdddddddd asked for 59 GB).
func TestHostileNestingAndLengths(t *testing.T) {
	d := NewDecoder()
	deep := append(bytes.Repeat([]byte{0x91}, MaxFrameLength-64), 0xc0)
	// A REQUEST whose body is the deep value, and one with it under an unknown key.
	req := append([]byte{0x84, 0xa2, 'i', 'd', 0xa1, 'a', 0xa7, 's', 'e', 'r', 'v', 'i', 'c', 'e', 0xa1, 's',
		0xa6, 'm', 'e', 't', 'h', 'o', 'd', 0xa1, 'm', 0xa4, 'b', 'o', 'd', 'y'}, deep...)
	_, pe := d.DecodeRequest(req)
	require.NotNil(t, pe)
	assert.Equal(t, ReasonInvalidMsgpack, pe.Reason)
	assert.Equal(t, "", pe.ID)
	assert.Contains(t, pe.Message, "nested deeper than")

	_, _, pe = d.DecodeStreamChunk(append([]byte{0x82, 0xa2, 'i', 'd', 0xa1, 's', 0xa1, 'x'}, deep...))
	require.NotNil(t, pe)
	assert.Equal(t, ReasonInvalidMsgpack, pe.Reason)

	_, err := d.DecodeReply(append([]byte{0x81, 0xa4, 'b', 'o', 'd', 'y'}, deep...))
	require.ErrorContains(t, err, "nested deeper than")

	// Lengths that the input cannot hold fail at the end of the input
	// instead of being allocated up front.
	for _, body := range [][]byte{
		{0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0x91, 0xc0},
		{0xdf, 0xdd, 0xdd, 0xdd, 0xdd, 0xa1, 'k', 0xc0},
		{0x91, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd},
	} {
		_, err := d.DecodeReply(append([]byte{0x81, 0xa4, 'b', 'o', 'd', 'y'}, body...))
		require.Error(t, err)
	}

	// Nesting up to the bound still decodes.
	ok := append(bytes.Repeat([]byte{0x91}, maxDepth), 0x01)
	r, err := d.DecodeReply(append([]byte{0x82, 0xa2, 'i', 'd', 0xa1, 'r', 0xa4, 'b', 'o', 'd', 'y'}, ok...))
	require.NoError(t, err)
	v := r.Body
	for range maxDepth {
		s, isSlice := v.([]any)
		require.True(t, isSlice)
		require.Len(t, s, 1)
		v = s[0]
	}
	assert.EqualValues(t, 1, v)
	_, err = d.DecodeReply(append([]byte{0x81, 0xa4, 'b', 'o', 'd', 'y'}, append([]byte{0x91}, ok...)...))
	require.ErrorContains(t, err, "nested deeper than")
}
