package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// sendTraffic drives the collector's OTLP gRPC receiver with jeeves-loadgen and returns the manifest
// of what was exported.
func sendTraffic(t *testing.T, endpoint string, cfg loadgen.Config) *loadgen.Manifest {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	m, err := loadgen.Run(ctx, cfg, exp)
	if err != nil {
		t.Fatalf("loadgen: %v", err)
	}
	if m.Spans == 0 {
		t.Fatal("loadgen sent no spans")
	}
	return m
}

// keepAll turns the connector's sampling up to 100%, for cases that check every span arrives.
const keepAll = "100"

func trafficConfig(seed uint64, traces int) loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.Seed = seed
	cfg.Traces = traces
	return cfg
}

// A loadgen run arrives intact at the trace backend (sampling at 100%), and the collector's
// self-telemetry accounts for every span.
func TestTrafficArrivesIntact(t *testing.T) {
	sink := startTraceSink(t, false)
	c := startCollector(t, collectorOptions{Env: map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr, "JEEVES_SAMPLING_PERCENTAGE": keepAll}})
	m := sendTraffic(t, c.OTLPGRPC, trafficConfig(7, 2000))

	eventually(t, 30*time.Second, func() string {
		if got := int64(sink.SpanCount()); got != m.Spans {
			return "sink has " + itoa(int(got)) + " spans, manifest " + itoa(int(m.Spans))
		}
		return ""
	})
	if got := len(sink.TraceSpanCounts()); int64(got) != m.Traces {
		t.Errorf("sink saw %d traces, manifest %d", got, m.Traces)
	}
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Telemetry)
		accepted := sumSamples(fams, "otelcol_receiver_accepted_spans", map[string]string{"receiver": "otlp"})
		refused := sumSamples(fams, "otelcol_receiver_refused_spans", map[string]string{"receiver": "otlp"})
		sent := sumSamples(fams, "otelcol_exporter_sent_spans", map[string]string{"exporter": "otlp_grpc/jaeger"})
		if accepted != float64(m.Spans) || refused != 0 || sent != float64(m.Spans) {
			return "accepted " + ftoa(accepted) + " refused " + ftoa(refused) + " sent " + ftoa(sent) + ", manifest " + itoa(int(m.Spans))
		}
		return ""
	})
}

// SIGTERM right after the last export: the collector exits within a few seconds; what it held
// (batch processor, the tail sampler's buffer) goes to the durable queue. The sending queue stops
// taking requests at shutdown, so what the backend has not received by then stays in the queue
// directory and is sent by the next collector on it: every span arrives, none twice.
func TestSIGTERMFlushesQueue(t *testing.T) {
	sink := startTraceSink(t, false)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr, "JEEVES_SAMPLING_PERCENTAGE": keepAll, "JEEVES_STORAGE_DIR": t.TempDir()}
	c := startCollector(t, collectorOptions{Env: env})
	m := sendTraffic(t, c.OTLPGRPC, trafficConfig(11, 1000))

	took := c.stop(10 * time.Second)
	if took > 5*time.Second {
		t.Errorf("shutdown took %s, want under 5s", took)
	}
	if _, err := c.exited(); err != nil {
		t.Errorf("collector exit: %v", err)
	}
	atStop := int64(sink.SpanCount())
	if atStop > m.Spans {
		t.Fatalf("after shutdown the sink has %d spans, manifest %d", atStop, m.Spans)
	}
	startCollector(t, collectorOptions{Env: env})
	eventually(t, 30*time.Second, func() string {
		if got := int64(sink.SpanCount()); got != m.Spans {
			return fmt.Sprintf("sink has %d spans (%d at shutdown), manifest %d", got, atStop, m.Spans)
		}
		return ""
	})
	t.Logf("%d of %d spans sent before the collector exited, the rest by the next one on its queue", atStop, m.Spans)
}
