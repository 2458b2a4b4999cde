package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Run generates traffic as cfg says and sends it through exp, one
// TracerProvider (and resource) per service, all sharing one blocking batcher
// so that no span is ever dropped. It returns the manifest of what was
// exported.
//
// Run stops at cfg.Traces traces, after cfg.Duration, or when ctx is done; in
// every case it flushes what it generated, and the manifest describes exactly
// that (a cancelled ctx is not an error). If any export fails, Run stops
// generating and returns an error; the manifest it returns alongside is then
// not the truth about what the receiver got.
//
// Run does not shut down exp: the caller owns it.
func Run(ctx context.Context, cfg Config, exp sdktrace.SpanExporter) (*Manifest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bat := newBatcher(exp, cfg.BatchSize, cfg.Exporters, cfg.ExportTimeout)
	ids := &idSource{}
	var providers [numServices]*sdktrace.TracerProvider
	var tracers [numServices][numScopes]trace.Tracer
	for svc := range numServices {
		res := resource.NewSchemaless(
			attribute.String("service.name", cfg.Services.Name(svc)),
			attribute.String("service.version", cfg.Services.Version),
			attribute.String("deployment.environment", cfg.Services.Environment),
		)
		tp := sdktrace.NewTracerProvider(
			sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithIDGenerator(ids),
			sdktrace.WithResource(res),
			sdktrace.WithSpanProcessor(bat),
		)
		providers[svc] = tp
		for sc := range numScopes {
			tracers[svc][sc] = tp.Tracer(sc.String(), trace.WithInstrumentationVersion("4.0.0"))
		}
	}

	g := NewGenerator(cfg)
	m := NewManifest(cfg)
	em := &emitter{tracers: &tracers, ids: ids, root: context.WithValue(context.Background(), idSourceKey{}, ids)}
	wallStart := time.Now()
	em.base = wallStart
	for i := 0; cfg.Traces == 0 || i < cfg.Traces; i++ {
		if ctx.Err() != nil || bat.failed() {
			break
		}
		if cfg.Duration > 0 && time.Since(wallStart) >= cfg.Duration {
			break
		}
		off := g.traceOffset(i)
		if cfg.Rate > 0 || len(cfg.Phases) > 0 {
			if wait := time.Until(wallStart.Add(off)); wait > 0 {
				if !sleepCtx(ctx, wait) {
					break
				}
			}
		}
		plan := g.Trace(i)
		plan.Offset = off
		em.emit(plan)
		m.Add(plan, cfg.Services, cfg.TraceList)
	}

	exportErr := bat.finish()
	var shutdownErr error
	for _, tp := range providers {
		shutdownErr = errors.Join(shutdownErr, tp.Shutdown(context.Background()))
	}
	if exportErr != nil {
		return m, fmt.Errorf("export failed (%d of %d spans exported): %w", bat.exported.Load(), m.Spans, exportErr)
	}
	if shutdownErr != nil {
		return m, fmt.Errorf("shutting down tracer providers: %w", shutdownErr)
	}
	if got := bat.exported.Load(); got != m.Spans {
		return m, fmt.Errorf("exported %d spans, generated %d", got, m.Spans)
	}
	return m, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// emitter turns trace plans into SDK spans with exact timestamps.
type emitter struct {
	tracers *[numServices][numScopes]trace.Tracer
	ids     *idSource
	root    context.Context
	base    time.Time
	ctxs    []context.Context
	spans   []trace.Span
}

func (e *emitter) emit(t *TracePlan) {
	base := e.base.Add(t.Offset)
	e.ids.reset(t.TraceID)
	n := len(t.Spans)
	e.ctxs = append(e.ctxs[:0], make([]context.Context, n)...)
	e.spans = append(e.spans[:0], make([]trace.Span, n)...)
	for i := range t.Spans {
		sp := &t.Spans[i]
		parent := e.root
		if sp.Parent >= 0 {
			parent = e.ctxs[sp.Parent]
		}
		e.ctxs[i], e.spans[i] = e.tracers[sp.Service][sp.Scope].Start(parent, sp.Name,
			trace.WithSpanKind(sp.Kind),
			trace.WithTimestamp(base.Add(sp.Start)),
			trace.WithAttributes(sp.StartAttrs...),
		)
	}
	// End children before parents, as instrumented code does. An unexported
	// span is never ended, so the SDK never exports it.
	for i := n - 1; i >= 0; i-- {
		sp := &t.Spans[i]
		s := e.spans[i]
		if sp.Unexported {
			continue
		}
		end := base.Add(sp.End)
		if len(sp.EndAttrs) > 0 {
			s.SetAttributes(sp.EndAttrs...)
		}
		if sp.ExceptionType != "" {
			s.AddEvent("exception", trace.WithTimestamp(end), trace.WithAttributes(
				attribute.String("exception.type", sp.ExceptionType),
				attribute.String("exception.message", sp.ExceptionMessage),
			))
		}
		if sp.Status != codes.Unset {
			s.SetStatus(sp.Status, sp.StatusMessage)
		}
		s.End(trace.WithTimestamp(end))
	}
	clear(e.ctxs)
	clear(e.spans)
}

type idSourceKey struct{}

// idSource hands out the planned trace id and span ids drawn from a PCG
// seeded by that trace id, so span ids are as reproducible as trace ids.
// Spans are started from one goroutine, so it needs no lock.
type idSource struct {
	traceID trace.TraceID
	pcg     rand.PCG
}

func (s *idSource) reset(tid trace.TraceID) {
	s.traceID = tid
	var hi, lo uint64
	for k := range 8 {
		hi = hi<<8 | uint64(tid[k])
		lo = lo<<8 | uint64(tid[8+k])
	}
	s.pcg.Seed(hi, lo)
}

func (s *idSource) spanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		v := s.pcg.Uint64()
		for k := range 8 {
			sid[k] = byte(v >> (56 - 8*k))
		}
	}
	return sid
}

// NewIDs implements sdktrace.IDGenerator.
func (s *idSource) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	return s.traceID, s.spanID()
}

// NewSpanID implements sdktrace.IDGenerator.
func (s *idSource) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return s.spanID()
}

// batcher is a span processor that exports fixed-size batches through a few
// concurrent workers and blocks the generator when they are all busy, so
// nothing is dropped, and that counts what was exported successfully.
type batcher struct {
	exp     sdktrace.SpanExporter
	size    int
	timeout time.Duration

	mu    sync.Mutex
	batch []sdktrace.ReadOnlySpan

	work     chan []sdktrace.ReadOnlySpan
	wg       sync.WaitGroup
	exported atomic.Int64
	errMu    sync.Mutex
	err      error // the first export error; set means the run failed
}

func newBatcher(exp sdktrace.SpanExporter, size, workers int, timeout time.Duration) *batcher {
	b := &batcher{
		exp:     exp,
		size:    size,
		timeout: timeout,
		batch:   make([]sdktrace.ReadOnlySpan, 0, size),
		work:    make(chan []sdktrace.ReadOnlySpan, workers),
	}
	for range workers {
		b.wg.Go(b.worker)
	}
	return b
}

func (b *batcher) worker() {
	for batch := range b.work {
		if b.failed() {
			// After the first failure the run is lost; do not wait out more
			// timeouts.
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
		err := b.exp.ExportSpans(ctx, batch)
		cancel()
		if err != nil {
			b.errMu.Lock()
			if b.err == nil {
				b.err = err
			}
			b.errMu.Unlock()
			continue
		}
		b.exported.Add(int64(len(batch)))
	}
}

func (b *batcher) failed() bool {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	return b.err != nil
}

// OnStart implements sdktrace.SpanProcessor.
func (*batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor; it blocks while every worker is busy.
func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	b.mu.Lock()
	b.batch = append(b.batch, s)
	if len(b.batch) < b.size {
		b.mu.Unlock()
		return
	}
	full := b.batch
	b.batch = make([]sdktrace.ReadOnlySpan, 0, b.size)
	b.mu.Unlock()
	b.work <- full
}

// Shutdown implements sdktrace.SpanProcessor. The batcher is shared by several
// providers, so their shutdowns do nothing; Run calls finish instead.
func (*batcher) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor; see Shutdown.
func (*batcher) ForceFlush(context.Context) error { return nil }

// finish exports the partial batch, waits for the workers and reports the
// first export error.
func (b *batcher) finish() error {
	b.mu.Lock()
	rest := b.batch
	b.batch = nil
	b.mu.Unlock()
	if len(rest) > 0 {
		b.work <- rest
	}
	close(b.work)
	b.wg.Wait()
	b.errMu.Lock()
	defer b.errMu.Unlock()
	return b.err
}
