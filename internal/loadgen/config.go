// Package loadgen generates realistic Jeeves traces deterministically from a
// seed, sends them through the OpenTelemetry Go SDK, and describes exactly
// what it sent in a Manifest that end-to-end tests compare against the
// collector's output.
//
// The plan of trace i depends only on the seed and i, so the first N traces
// of a run are the same whatever the trace limit, rate or duration.
package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config controls what the generator sends and how fast.
type Config struct {
	// Seed makes the run reproducible: the same seed gives the same traces,
	// trace ids, attributes, durations and manifest.
	Seed uint64
	// Traces is how many traces to send. Zero means no count limit, in which
	// case Duration must be set.
	Traces int
	// Rate is the number of traces started per second. Zero means as fast as
	// the exporter accepts them.
	Rate float64
	// Duration stops generation after this much wall-clock time. Zero means
	// no time limit. The manifest describes the traces actually sent.
	Duration time.Duration

	// ErrorRatio is the probability that a trace carries an error (a failed
	// LLM call that is retried, a failed agent, or a failed pipeline).
	ErrorRatio float64
	// SlowRatio is the probability that a trace lasts at least 5 s end to end
	// (the pipeline p99 SLO); other traces last at most about 3 s.
	SlowRatio float64
	// TerminatedRatio is the probability that a pipeline ends with
	// pipeline.status=terminated and a termination.reason.
	TerminatedRatio float64
	// LaterGenRatio is the probability that a trace uses the later-generation
	// Python shapes (pipeline_name, agent.<name>, agent.llm_call, kernel.ipc).
	// Terminated traces always use the current shape. Zero disables them.
	LaterGenRatio float64

	// SlowPipeline, when set, makes every run of that pipeline slow, lasting
	// 15 to 25 s (a p99 far above the others'), beside the other pipelines'
	// usual latencies.
	SlowPipeline string
	// FailingProvider, when set, makes each LLM call to that provider (by the
	// provider name its span carries) fail with probability
	// FailingProviderRatio; the agent goes on as after a retried call.
	FailingProvider      string
	FailingProviderRatio float64
	// BrokenRatio is the probability that a trace's gateway span is never
	// exported: the orchestrator's spans then name a parent that never
	// arrives (broken trace context propagation).
	BrokenRatio float64
	// InterruptSpans adds to every current-shape pipeline run one
	// interrupt.clarification span, the shape interrupt instrumentation
	// writes, so that tests can check interrupts are not counted twice.
	InterruptSpans bool

	// Services names the services that own the spans.
	Services Services

	// BatchSize is how many spans go into one export request (default 2048).
	BatchSize int
	// Exporters is how many export requests may be in flight at once
	// (default 2). Generation blocks when all are busy, so nothing is dropped.
	Exporters int
	// ExportTimeout bounds one export request, retries included (default 60 s).
	ExportTimeout time.Duration

	// TraceList adds the per-trace list (TraceRecord) to the manifest.
	TraceList bool

	// Phases, when set, is a schedule that replaces Rate and ErrorRatio: each phase starts
	// Rate×Duration traces at Rate per second with its own error ratio, one after the other (an
	// error storm is steady, then 10× with 90% errors, then steady again). Traces must then equal
	// PhaseTraces(). Trace plans carry their Offset in the schedule.
	Phases []Phase
}

// Phase is one stretch of a phase schedule.
type Phase struct {
	// Rate is traces started per second; must be > 0.
	Rate float64
	// Duration of the phase; must be > 0.
	Duration time.Duration
	// ErrorRatio is the probability that a trace of the phase carries an error, in [0, 1].
	ErrorRatio float64
}

// count is the number of traces the phase starts.
func (p Phase) count() int {
	n := p.Rate * p.Duration.Seconds()
	if !(n < maxPhaseTraces*10) { // NaN or absurd: beyond any bound, without overflowing int
		return maxPhaseTraces * 10
	}
	return int(n)
}

// PhaseTraces is the number of traces the phase schedule starts.
func (c Config) PhaseTraces() int {
	n := 0
	for _, p := range c.Phases {
		n += p.count()
	}
	return n
}

// phaseOf returns the start offset and error ratio of trace i under the phase schedule, and false
// when there is none or i is beyond it.
func (c Config) phaseOf(i int) (time.Duration, float64, bool) {
	var at time.Duration
	for _, p := range c.Phases {
		n := p.count()
		if i < n {
			return at + time.Duration(float64(i)*float64(time.Second)/p.Rate), p.ErrorRatio, true
		}
		i -= n
		at += p.Duration
	}
	return 0, 0, false
}

// Services names the services that own the generated spans. Each gets its own
// TracerProvider and resource (service.name, service.version,
// deployment.environment).
type Services struct {
	// Gateway owns the FastAPI HTTP server spans (default jeeves-gateway).
	Gateway string
	// Orchestrator owns pipeline, agent, llm.provider.call, DB and
	// later-generation spans (default jeeves-orchestrator).
	Orchestrator string
	// LLMGateway owns the GenAI semantic-convention spans (default
	// jeeves-llm-gateway).
	LLMGateway string
	// Version is service.version (default 4.0.0).
	Version string
	// Environment is deployment.environment (default development).
	Environment string
}

// DefaultConfig returns the configuration the command starts from.
func DefaultConfig() Config {
	return Config{
		Seed:            1,
		Traces:          1000,
		ErrorRatio:      0.05,
		SlowRatio:       0.02,
		TerminatedRatio: 0.03,
		LaterGenRatio:   0.05,
		Services: Services{
			Gateway:      "jeeves-gateway",
			Orchestrator: "jeeves-orchestrator",
			LLMGateway:   "jeeves-llm-gateway",
			Version:      "4.0.0",
			Environment:  "development",
		},
		BatchSize:     2048,
		Exporters:     2,
		ExportTimeout: 60 * time.Second,
	}
}

// MaxBatchSize bounds BatchSize: a request of 8192 spans is about 2.3 MiB
// (measured), under the 4 MiB default gRPC message limit of the OTLP receiver.
const MaxBatchSize = 8192

// MaxExporters bounds Exporters.
const MaxExporters = 64

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.Traces < 0 {
		errs = append(errs, fmt.Errorf("traces must be >= 0, got %d", c.Traces))
	}
	if c.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration must be >= 0, got %s", c.Duration))
	}
	if c.Traces == 0 && c.Duration == 0 {
		errs = append(errs, errors.New("traces and duration are both 0: set at least one limit"))
	}
	if c.Rate < 0 || c.Rate != c.Rate {
		errs = append(errs, fmt.Errorf("rate must be >= 0 (0 = unthrottled), got %v", c.Rate))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"error_ratio", c.ErrorRatio},
		{"slow_ratio", c.SlowRatio},
		{"terminated_ratio", c.TerminatedRatio},
		{"later_gen_ratio", c.LaterGenRatio},
		{"failing_provider_ratio", c.FailingProviderRatio},
		{"broken_ratio", c.BrokenRatio},
	} {
		if !(r.v >= 0 && r.v <= 1) {
			errs = append(errs, fmt.Errorf("%s must be in [0, 1], got %v", r.name, r.v))
		}
	}
	for _, s := range []struct{ name, v string }{
		{"services.gateway", c.Services.Gateway},
		{"services.orchestrator", c.Services.Orchestrator},
		{"services.llm_gateway", c.Services.LLMGateway},
	} {
		if s.v == "" {
			errs = append(errs, fmt.Errorf("%s must not be empty", s.name))
		}
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		errs = append(errs, fmt.Errorf("batch_size must be in [1, %d], got %d", MaxBatchSize, c.BatchSize))
	}
	if c.Exporters < 1 || c.Exporters > MaxExporters {
		errs = append(errs, fmt.Errorf("exporters must be in [1, %d], got %d", MaxExporters, c.Exporters))
	}
	for i, p := range c.Phases {
		if !(p.Rate > 0) || p.Duration <= 0 || !(p.ErrorRatio >= 0 && p.ErrorRatio <= 1) {
			errs = append(errs, fmt.Errorf("phases[%d] needs rate > 0, duration > 0 and error_ratio in [0, 1], got %v, %s, %v", i, p.Rate, p.Duration, p.ErrorRatio))
		}
	}
	if len(c.Phases) > 0 && c.Traces != c.PhaseTraces() {
		errs = append(errs, fmt.Errorf("traces must equal the phases' total %d when phases are set, got %d", c.PhaseTraces(), c.Traces))
	}
	if c.ExportTimeout <= 0 {
		errs = append(errs, fmt.Errorf("export_timeout must be > 0, got %s", c.ExportTimeout))
	}
	return errors.Join(errs...)
}

// ParsePhases reads a phase schedule written as comma-separated RATExDURATION@ERRORS items, e.g.
// "30x20s@0.05,300x60s@0.9,30x20s@0.05": 30 traces/s for 20 s with 5% errors, and so on. Each
// phase must be valid (rate > 0, duration > 0, error ratio in [0, 1]) and start at least one trace.
func ParsePhases(s string) ([]Phase, error) {
	var out []Phase
	for i, item := range strings.Split(s, ",") {
		rate, rest, ok1 := strings.Cut(strings.TrimSpace(item), "x")
		dur, errs, ok2 := strings.Cut(rest, "@")
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("phase %d %q: want RATExDURATION@ERRORS, e.g. 300x60s@0.9", i, item)
		}
		var p Phase
		var err error
		if p.Rate, err = strconv.ParseFloat(rate, 64); err != nil || !(p.Rate > 0) || math.IsInf(p.Rate, 0) {
			return nil, fmt.Errorf("phase %d %q: rate must be a positive number", i, item)
		}
		if p.Duration, err = time.ParseDuration(dur); err != nil || p.Duration <= 0 {
			return nil, fmt.Errorf("phase %d %q: duration must be positive, like 60s", i, item)
		}
		if p.ErrorRatio, err = strconv.ParseFloat(errs, 64); err != nil || !(p.ErrorRatio >= 0 && p.ErrorRatio <= 1) {
			return nil, fmt.Errorf("phase %d %q: error ratio must be in [0, 1]", i, item)
		}
		if n := p.count(); n < 1 || n > maxPhaseTraces {
			return nil, fmt.Errorf("phase %d %q: must start between 1 and %d traces, got rate x duration = %d", i, item, maxPhaseTraces, n)
		}
		out = append(out, p)
	}
	return out, nil
}

// maxPhaseTraces bounds one phase, so a typo cannot ask for a trillion traces.
const maxPhaseTraces = 100_000_000
