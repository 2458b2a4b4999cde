// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

const (
	modeSubscribe = "subscribe"
	modeListen    = "listen"
	dataFormat    = "commbus"
)

// attrSets are the precomputed attribute options of component telemetry, so
// recording on the hot path does not allocate.
type attrSets struct {
	mode    map[string]metric.MeasurementOption
	decode  map[[2]string]metric.MeasurementOption
	reasons map[string]metric.MeasurementOption
}

func (a *attrSets) forMode(mode string) metric.MeasurementOption { return a.mode[mode] }

func (a *attrSets) forDecode(mode, reason string) metric.MeasurementOption {
	if o, ok := a.decode[[2]string{mode, reason}]; ok {
		return o
	}
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("mode", mode), attribute.String("reason", reason)))
}

func (a *attrSets) forReason(reason string) metric.MeasurementOption {
	if o, ok := a.reasons[reason]; ok {
		return o
	}
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}

func newAttrSets() *attrSets {
	a := &attrSets{
		mode:    map[string]metric.MeasurementOption{},
		decode:  map[[2]string]metric.MeasurementOption{},
		reasons: map[string]metric.MeasurementOption{},
	}
	decodeReasons := []string{
		wire.ReasonInvalidMsgpack, wire.ReasonInvalidRequest, wire.ReasonInvalidBody, wire.ReasonUnknownFrameType,
		wire.ReasonUnexpectedFrame, wire.ReasonZeroLength, wire.ReasonFrameTooLarge, wire.ReasonTruncated,
		wire.ReasonInvalidEvent, wire.ReasonErrorFrame,
	}
	for _, m := range []string{modeSubscribe, modeListen} {
		a.mode[m] = metric.WithAttributeSet(attribute.NewSet(attribute.String("mode", m)))
		for _, r := range decodeReasons {
			a.decode[[2]string{m, r}] = metric.WithAttributeSet(attribute.NewSet(attribute.String("mode", m), attribute.String("reason", r)))
		}
	}
	for _, r := range []string{
		translate.DropReasonOversize, translate.DropReasonEventType, translate.OrphanTTLExpired, translate.OrphanEvicted,
		closeEOF, closeIdle, closeProtocol, closeWrite, closeShutdown,
		rejectMaxConnections, rejectPerAddress,
	} {
		a.reasons[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r)))
	}
	return a
}

// commbusReceiver is the one receiver behind the logs, traces and metrics
// pipelines of a component ID. Events from both modes go through one
// translator, serialised by mu.
type commbusReceiver struct {
	cfg *Config
	set receiver.Settings

	logs    consumer.Logs
	traces  consumer.Traces
	metrics consumer.Metrics

	tel   *metadata.TelemetryBuilder
	attrs *attrSets
	obs   *receiverhelper.ObsReport

	mu sync.Mutex
	tr *translate.Translator

	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *server
	sub    *subscriber
	// started is set once Start ran; Shutdown without Start only releases.
	started bool

	status statusReporter
}

// startStatusWait bounds how long Start waits for the first subscription
// attempt, so that the status the collector sees when Start returns is the
// attempt's (the collector turns a component still Starting into OK as soon
// as Start returns).
const startStatusWait = 2 * time.Second

// setStatus reports a change of component status to every pipeline.
func (r *commbusReceiver) setStatus(st componentstatus.Status, err error) {
	r.status.report(st, err)
}

func newReceiver(cfg *Config, set receiver.Settings) (*commbusReceiver, error) {
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "tcp",
		LongLivedCtx:           true,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &commbusReceiver{cfg: cfg, set: set, tel: tel, attrs: newAttrSets(), obs: obs}, nil
}

// deliveredCount is what Publish reports as delivered: the number of signal
// pipelines this receiver feeds (at least 1).
func (r *commbusReceiver) deliveredCount() int {
	n := 0
	if r.logs != nil {
		n++
	}
	if r.traces != nil {
		n++
	}
	if r.metrics != nil {
		n++
	}
	return max(n, 1)
}

func (r *commbusReceiver) translatorConfig() translate.Config {
	return translate.Config{
		Logs:             r.logs != nil,
		Traces:           r.traces != nil,
		Metrics:          r.metrics != nil,
		MaxPayloadBytes:  r.cfg.Payload.MaxBytes,
		Oversize:         translate.OversizePolicy(r.cfg.Payload.Oversize),
		DropEventTypes:   r.cfg.Payload.DropEventTypes,
		UserText:         translate.TextPolicy(r.cfg.Payload.UserText),
		UserTextMaxBytes: r.cfg.Payload.UserTextMaxBytes,
		MaxOpenProcesses: r.cfg.MaxOpenProcesses,
		ProcessTTL:       r.cfg.ProcessTTL,
		MaxSpanEvents:    r.cfg.MaxSpanEvents,
		SeriesLimit:      r.cfg.Metrics.SeriesLimit,
		SeriesExpiration: r.cfg.Metrics.SeriesExpiration,
		ScopeName:        metadata.ScopeName,
		ScopeVersion:     r.set.BuildInfo.Version,
	}
}

func (r *commbusReceiver) Start(ctx context.Context, _ component.Host) error {
	r.setStatus(componentstatus.StatusStarting, nil)
	r.tr = translate.New(r.translatorConfig())
	if err := r.tel.RegisterReceiverCommbusProcessesOpenCallback(func(_ context.Context, o metric.Int64Observer) error {
		r.mu.Lock()
		n := r.tr.OpenProcesses()
		r.mu.Unlock()
		o.Observe(int64(n))
		return nil
	}); err != nil {
		return err
	}

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.started = true

	// The connection gauges exist, at 0, from the start: an alert on
	// `== 0` must fire for a collector that never reached the kernel.
	if r.cfg.Subscribe.HasValue() {
		r.tel.ReceiverCommbusConnectionsActive.Add(ctx, 0, r.attrs.forMode(modeSubscribe))
	}
	if r.cfg.Listen.HasValue() {
		r.tel.ReceiverCommbusConnectionsActive.Add(ctx, 0, r.attrs.forMode(modeListen))
	}

	if lis := r.cfg.Listen.Get(); lis != nil {
		srv, err := newServer(ctx, *lis, r)
		if err != nil {
			return err
		}
		r.srv = srv
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			srv.serve()
		}()
	}
	if sub := r.cfg.Subscribe.Get(); sub != nil {
		s, err := newSubscriber(ctx, *sub, r)
		if err != nil {
			return err
		}
		r.sub = s
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s.run(runCtx)
		}()
	}
	if r.metrics != nil || r.traces != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.flushLoop(runCtx)
		}()
	}
	if r.sub != nil {
		// The subscription decides the status (listen mode is OK once bound).
		select {
		case <-r.sub.first:
		case <-time.After(startStatusWait):
		case <-ctx.Done():
		}
	} else {
		r.setStatus(componentstatus.StatusOK, nil)
	}
	fields := []zap.Field{}
	if sub := r.cfg.Subscribe.Get(); sub != nil {
		fields = append(fields, zap.String("subscribe", sub.Endpoint), zap.Strings("event_types", sub.EventTypes))
	}
	if r.srv != nil {
		fields = append(fields, zap.String("listen", r.srv.addr().String()))
	}
	r.set.Logger.Info("CommBus receiver started", fields...)
	return nil
}

func (r *commbusReceiver) Shutdown(ctx context.Context) error {
	defer r.tel.Shutdown()
	if !r.started {
		return nil
	}
	r.started = false
	// What shutdown does to the subscription is no error; the collector
	// reports Stopping and Stopped itself.
	r.status.close()
	r.cancel()
	if r.srv != nil {
		r.srv.close()
	}
	if r.sub != nil {
		r.sub.close()
	}
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Last cumulative state so nothing counted since the last tick is lost.
	r.flush(ctx, time.Now(), false)
	r.set.Logger.Info("CommBus receiver stopped")
	return nil
}

func (r *commbusReceiver) flushLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.Metrics.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.flush(ctx, now, true)
		}
	}
}

// flush expires orphans (when expire) and emits the cumulative metrics; the
// translator drops idle metric series on the way and reports the
// observations folded into overflow series, counted here.
func (r *commbusReceiver) flush(ctx context.Context, now time.Time, expire bool) {
	r.mu.Lock()
	var batch *translate.Batch
	expired := 0
	if expire {
		batch = r.tr.NewBatch()
		expired = r.tr.Expire(now, batch)
	}
	var (
		md        pmetric.Metrics
		overflows []translate.Overflow
	)
	if r.metrics != nil {
		md, overflows = r.tr.Metrics(now)
	}
	r.mu.Unlock()

	for _, o := range overflows {
		r.tel.ReceiverCommbusObservationsOverflowed.Add(ctx, o.Count,
			metric.WithAttributeSet(attribute.NewSet(attribute.String("metric", o.Metric))))
	}
	if expired > 0 {
		r.tel.ReceiverCommbusProcessesOrphaned.Add(ctx, int64(expired), r.attrs.forReason(translate.OrphanTTLExpired))
		// A refusal is counted by the receiver's obsreport (otelcol_receiver_refused_*) inside
		// deliver; the ticker has no sender to hand the error back to.
		_ = r.deliver(ctx, batch)
	}
	if r.metrics != nil {
		octx := r.obs.StartMetricsOp(ctx)
		err := r.metrics.ConsumeMetrics(octx, md)
		r.obs.EndMetricsOp(octx, dataFormat, md.DataPointCount(), err)
		if err != nil {
			r.set.Logger.Debug("metrics consumer refused CommBus metrics", zap.Error(err))
		}
	}
}

// handleEvents translates events read together and hands the result to the
// pipelines. The returned error is the first consumer error.
func (r *commbusReceiver) handleEvents(ctx context.Context, mode string, events []wire.Event, received time.Time) error {
	if len(events) == 0 {
		return nil
	}
	r.mu.Lock()
	batch := r.tr.NewBatch()
	invalid, orphaned := 0, 0
	dropped := [2]int{}
	for i := range events {
		ev := translate.Event{
			EventType: events[i].EventType, Payload: events[i].Payload, Source: events[i].Source,
			TimestampMs: events[i].TimestampMs, Received: received,
		}
		res := r.tr.Translate(&ev, batch)
		if res.InvalidJSON {
			invalid++
		}
		switch res.PayloadDropped {
		case translate.DropReasonOversize:
			dropped[0]++
		case translate.DropReasonEventType:
			dropped[1]++
		}
		orphaned += res.Orphaned
	}
	r.mu.Unlock()

	r.tel.ReceiverCommbusEventsReceived.Add(ctx, int64(len(events)), r.attrs.forMode(mode))
	if invalid > 0 {
		r.tel.ReceiverCommbusPayloadsInvalidJSON.Add(ctx, int64(invalid))
	}
	if dropped[0] > 0 {
		r.tel.ReceiverCommbusPayloadsDropped.Add(ctx, int64(dropped[0]), r.attrs.forReason(translate.DropReasonOversize))
	}
	if dropped[1] > 0 {
		r.tel.ReceiverCommbusPayloadsDropped.Add(ctx, int64(dropped[1]), r.attrs.forReason(translate.DropReasonEventType))
	}
	if orphaned > 0 {
		r.tel.ReceiverCommbusProcessesOrphaned.Add(ctx, int64(orphaned), r.attrs.forReason(translate.OrphanEvicted))
	}
	return r.deliver(ctx, batch)
}

// deliver hands a batch to the logs and traces pipelines, outside the lock.
func (r *commbusReceiver) deliver(ctx context.Context, batch *translate.Batch) error {
	var errs []error
	if r.logs != nil && batch.LogCount() > 0 {
		n := batch.LogCount()
		octx := r.obs.StartLogsOp(ctx)
		err := r.logs.ConsumeLogs(octx, batch.Logs)
		r.obs.EndLogsOp(octx, dataFormat, n, err)
		errs = append(errs, err)
	}
	if r.traces != nil && batch.SpanCount() > 0 {
		n := batch.SpanCount()
		octx := r.obs.StartTracesOp(ctx)
		err := r.traces.ConsumeTraces(octx, batch.Traces)
		r.obs.EndTracesOp(octx, dataFormat, n, err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *commbusReceiver) countDecodeError(ctx context.Context, mode, reason string) {
	r.tel.ReceiverCommbusDecodeErrors.Add(ctx, 1, r.attrs.forDecode(mode, reason))
}
