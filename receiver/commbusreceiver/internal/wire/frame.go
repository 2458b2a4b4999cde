// Package wire implements the Jeeves kernel IPC framing and the msgpack
// bodies of the CommBus protocol. It knows nothing about the collector.
//
// A frame is [u32 big-endian length][u8 frame type][msgpack payload]; length
// counts the type byte plus the payload. Length 0 is invalid and the largest
// accepted length is MaxFrameLength (5 MiB). See docs/commbus-protocol.md.
package wire // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types of the protocol.
const (
	TypeRequest     byte = 0x01
	TypeResponse    byte = 0x02
	TypeStreamChunk byte = 0x03
	TypeStreamEnd   byte = 0x04
	TypeError       byte = 0xFF
)

// MaxFrameLength is the largest value of the length field (type byte plus
// payload) that Jeeves accepts: 5 MiB.
const MaxFrameLength = 5 << 20

// headerSize is the length prefix plus the type byte.
const headerSize = 5

// Frame is one decoded frame. Payload aliases the reader's buffer and is only
// valid until the next ReadFrame call on the same buffer.
type Frame struct {
	Type    byte
	Payload []byte
}

// Errors returned by ReadFrame. Every one of them leaves the stream without a
// frame boundary the reader can trust, so the connection must be closed.
var (
	// ErrZeroLength is a length prefix of 0, which the protocol forbids.
	ErrZeroLength = errors.New("wire: frame length 0 is invalid")
	// ErrTruncated is a stream that ended inside a frame.
	ErrTruncated = errors.New("wire: stream ended inside a frame")
)

// FrameTooLargeError reports a length prefix above the limit.
type FrameTooLargeError struct {
	Length uint32
	Limit  int
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("wire: frame length %d exceeds the limit of %d bytes", e.Length, e.Limit)
}

// KnownType reports whether t is one of the five frame types.
func KnownType(t byte) bool {
	switch t {
	case TypeRequest, TypeResponse, TypeStreamChunk, TypeStreamEnd, TypeError:
		return true
	}
	return false
}

// TypeName names a frame type for messages and telemetry.
func TypeName(t byte) string {
	switch t {
	case TypeRequest:
		return "REQUEST"
	case TypeResponse:
		return "RESPONSE"
	case TypeStreamChunk:
		return "STREAM_CHUNK"
	case TypeStreamEnd:
		return "STREAM_END"
	case TypeError:
		return "ERROR"
	}
	return fmt.Sprintf("0x%02X", t)
}

// Reader reads frames from a stream, reusing one buffer so that steady-state
// reading does not allocate. The buffer grows to the largest frame seen, which
// is bounded by the limit.
type Reader struct {
	r     io.Reader
	limit int
	hdr   [headerSize]byte
	buf   []byte
}

// NewReader returns a Reader over r that rejects frames whose length field is
// above limit; limit <= 0 or above MaxFrameLength means MaxFrameLength.
func NewReader(r io.Reader, limit int) *Reader {
	if limit <= 0 || limit > MaxFrameLength {
		limit = MaxFrameLength
	}
	return &Reader{r: r, limit: limit}
}

// ReadFrame reads the next frame. It returns io.EOF when the stream ends
// cleanly on a frame boundary, ErrTruncated when it ends inside a frame,
// ErrZeroLength or *FrameTooLargeError for an invalid length prefix, and the
// underlying error (for example a deadline) otherwise. Unknown frame types are
// returned as frames: the length made them well delimited, so the caller can
// answer them and go on.
func (fr *Reader) ReadFrame() (Frame, error) {
	n, err := io.ReadFull(fr.r, fr.hdr[:4])
	if err != nil {
		if errors.Is(err, io.EOF) && n == 0 {
			return Frame{}, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, ErrTruncated
		}
		return Frame{}, err
	}
	length := binary.BigEndian.Uint32(fr.hdr[:4])
	if length == 0 {
		return Frame{}, ErrZeroLength
	}
	if uint64(length) > uint64(fr.limit) {
		return Frame{}, &FrameTooLargeError{Length: length, Limit: fr.limit}
	}
	if _, err = io.ReadFull(fr.r, fr.hdr[4:5]); err != nil {
		return Frame{}, truncated(err)
	}
	size := int(length) - 1
	if cap(fr.buf) < size {
		fr.buf = make([]byte, size)
	}
	fr.buf = fr.buf[:size]
	if _, err = io.ReadFull(fr.r, fr.buf); err != nil {
		return Frame{}, truncated(err)
	}
	return Frame{Type: fr.hdr[4], Payload: fr.buf}, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// AppendFrame appends one encoded frame to dst. The caller keeps payloads
// below MaxFrameLength; encodeFrame checks it.
func AppendFrame(dst []byte, typ byte, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)+1))
	dst = append(dst, typ)
	return append(dst, payload...)
}

// encodeFrame returns one encoded frame, or an error when the payload would
// exceed MaxFrameLength.
func encodeFrame(typ byte, payload []byte) ([]byte, error) {
	if len(payload)+1 > MaxFrameLength {
		return nil, &FrameTooLargeError{Length: uint32(min(len(payload)+1, 1<<32-1)), Limit: MaxFrameLength}
	}
	return AppendFrame(make([]byte, 0, headerSize+len(payload)), typ, payload), nil
}
