// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// benchStream is a subscription stream of complete process lifecycles (6
// kernel events each, distinct pids), as STREAM_CHUNK frames.
func benchStream(tb testing.TB, processes int, subID string) ([]byte, int) {
	enc := wire.NewEncoder()
	var buf bytes.Buffer
	n := 0
	add := func(typ, payload string, ms int64) {
		f, err := enc.StreamChunk(subID, wire.Event{EventType: typ, Payload: payload, Source: "kernel", TimestampMs: 1_790_000_000_000 + ms})
		require.NoError(tb, err)
		buf.Write(f)
		n++
	}
	for i := range processes {
		for _, e := range testkernel.Lifecycle(i) {
			add(e.Type, e.Payload, e.OffsetMs)
		}
	}
	return buf.Bytes(), n
}

// BenchmarkDecodeTranslate measures the per-event cost of subscribe mode
// without the network: read a frame, decode the chunk, translate it into a
// log record, span updates and metric aggregates (all three signals on),
// building a new batch every 512 events as the subscriber does. Reported:
// events/s on the cores given by -cpu (use -cpu 1 for one core) and
// allocations per event.
func BenchmarkDecodeTranslate(b *testing.B) {
	stream, perPass := benchStream(b, 1000, "sub-1")
	cfg := createDefaultConfig()
	r := &commbusReceiver{cfg: cfg, logs: consumertest.NewNop(), traces: consumertest.NewNop(), metrics: consumertest.NewNop()}
	tr := translate.New(r.translatorConfig())
	rd := bytes.NewReader(stream)
	fr := wire.NewReader(rd, 0)
	dec := wire.NewDecoder()
	batch := tr.NewBatch()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i%perPass == 0 {
			rd.Reset(stream)
		}
		f, err := fr.ReadFrame()
		if err != nil {
			b.Fatal(err)
		}
		_, ev, perr := dec.DecodeStreamChunk(f.Payload)
		if perr != nil {
			b.Fatal(perr)
		}
		tev := translate.Event{EventType: ev.EventType, Payload: ev.Payload, Source: ev.Source, TimestampMs: ev.TimestampMs, Received: now}
		tr.Translate(&tev, batch)
		if batch.LogCount() == maxBatch {
			batch = tr.NewBatch()
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkSubscribeEndToEnd measures the whole subscribe path over loopback
// TCP: a test kernel publishes, the receiver reads, decodes, translates and
// hands batches to no-op pipelines for all three signals. Reported: events/s.
func BenchmarkSubscribeEndToEnd(b *testing.B) {
	kernel := testkernel.Start(b, "127.0.0.1:0")
	cfg := subscribeConfig(kernel.Addr())
	var received atomic.Int64
	logs, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		received.Add(int64(ld.LogRecordCount()))
		return nil
	})
	require.NoError(b, err)
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "bench")
	f := NewFactory()
	lr, err := f.CreateLogs(context.Background(), set, cfg, logs)
	require.NoError(b, err)
	_, err = f.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	_, err = f.CreateMetrics(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	require.NoError(b, lr.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, lr.Shutdown(context.Background())) }()
	require.NoError(b, kernel.WaitSubscribers(1, 5*time.Second))

	stream, perPass := benchStream(b, 1000, kernel.History()[0].RequestID)
	passes := (b.N + perPass - 1) / perPass
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range passes {
		kernel.WriteRaw(stream)
	}
	want := passes * perPass
	for received.Load() < int64(want) {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
}
