// Command jeeves-loadgen sends realistic Jeeves traces over OTLP/gRPC,
// deterministically from a seed, and writes a JSON manifest of exactly what
// was exported so end-to-end tests can compare the collector's numbers with
// the truth. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	endpoint string
	insecure bool
	gzip     bool
	manifest string
	cpuprof  string
	scenario loadgen.Scenario
	cfg      loadgen.Config
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: loadgen.DefaultConfig()}
	fs := flag.NewFlagSet("jeeves-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.endpoint, "endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint (host:port)")
	fs.BoolVar(&o.insecure, "insecure", true, "use a plaintext connection (no TLS)")
	fs.BoolVar(&o.gzip, "gzip", false, "gzip-compress export requests")
	fs.StringVar(&o.manifest, "manifest", "-", "where to write the JSON manifest; - for stdout")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.IntVar(&o.cfg.Traces, "traces", o.cfg.Traces, "number of traces to send; 0 = until -duration")
	fs.Float64Var(&o.cfg.Rate, "rate", o.cfg.Rate, "traces per second; 0 = as fast as possible")
	fs.DurationVar(&o.cfg.Duration, "duration", o.cfg.Duration, "stop after this long; 0 = no time limit")
	fs.Uint64Var(&o.cfg.Seed, "seed", o.cfg.Seed, "generator seed; the same seed sends the same traces")
	fs.Float64Var(&o.cfg.ErrorRatio, "error-ratio", o.cfg.ErrorRatio, "share of traces with an error")
	fs.Float64Var(&o.cfg.SlowRatio, "slow-ratio", o.cfg.SlowRatio, "share of traces lasting >= 5 s")
	fs.Float64Var(&o.cfg.TerminatedRatio, "terminated-ratio", o.cfg.TerminatedRatio, "share of pipelines ending terminated")
	fs.Float64Var(&o.cfg.LaterGenRatio, "later-gen-ratio", o.cfg.LaterGenRatio, "share of traces in the later-generation Python shapes")
	fs.BoolVar(&o.cfg.TraceList, "trace-ids", false, "include the per-trace list in the manifest")
	phases := fs.String("phases", "", "a phase schedule RATExDURATION@ERRORS,... (e.g. 30x20s@0.05,300x60s@0.9,30x20s@0.05 for an error storm); replaces -rate, -error-ratio and -traces")
	scenario := fs.String("scenario", "", "a named scenario (sets the failure ratios above; see README): "+scenarioNames())
	fs.IntVar(&o.cfg.BatchSize, "batch-size", o.cfg.BatchSize, "spans per export request")
	fs.IntVar(&o.cfg.Exporters, "exporters", o.cfg.Exporters, "concurrent export requests")
	fs.DurationVar(&o.cfg.ExportTimeout, "export-timeout", o.cfg.ExportTimeout, "time limit of one export request, retries included")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.endpoint == "" {
		return o, errors.New("-endpoint must not be empty")
	}
	if *scenario != "" {
		sc, err := loadgen.ScenarioByName(*scenario)
		if err != nil {
			return o, err
		}
		o.scenario = sc
		sc.Apply(&o.cfg)
	}
	if *phases != "" {
		ps, err := loadgen.ParsePhases(*phases)
		if err != nil {
			return o, fmt.Errorf("-phases: %w", err)
		}
		o.cfg.Phases, o.cfg.Traces = ps, 0
		o.cfg.Traces = o.cfg.PhaseTraces()
	}
	return o, o.cfg.Validate()
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			_, _ = fmt.Fprintln(stderr, "jeeves-loadgen:", err)
		}
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	expOpts := []otlptracegrpc.Option{
		otlptracegrpc.WithEndpoint(o.endpoint),
		otlptracegrpc.WithTimeout(o.cfg.ExportTimeout),
	}
	if o.insecure {
		expOpts = append(expOpts, otlptracegrpc.WithInsecure())
	}
	if o.gzip {
		expOpts = append(expOpts, otlptracegrpc.WithCompressor("gzip"))
	}
	exp, err := otlptracegrpc.New(ctx, expOpts...)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-loadgen: creating exporter:", err)
		return 1
	}

	if o.cpuprof != "" {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			_, _ = fmt.Fprintln(stderr, "jeeves-loadgen:", err)
			return 1
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			_, _ = fmt.Fprintln(stderr, "jeeves-loadgen:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	start := time.Now()
	m, runErr := loadgen.Run(ctx, o.cfg, exp)
	elapsed := time.Since(start)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exp.Shutdown(shutdownCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutting down exporter: %w", err)
	}
	if runErr != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-loadgen: no manifest written:", runErr)
		return 1
	}
	if ctx.Err() != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-loadgen: interrupted; the manifest describes the traces sent so far")
	}
	_, _ = fmt.Fprintf(stderr, "jeeves-loadgen: exported %d traces, %d spans to %s in %s (%.0f spans/s)\n",
		m.Traces, m.Spans, o.endpoint, elapsed.Round(time.Millisecond), float64(m.Spans)/elapsed.Seconds())

	if len(o.scenario.DBPools) > 0 {
		if err := sendPools(o, start); err != nil {
			_, _ = fmt.Fprintln(stderr, "jeeves-loadgen:", err)
			return 1
		}
		_, _ = fmt.Fprintf(stderr, "jeeves-loadgen: sent the state of %d DB pools\n", len(o.scenario.DBPools))
	}
	if err := writeManifest(o.manifest, m, stdout); err != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-loadgen: writing manifest:", err)
		return 1
	}
	return 0
}

// writeManifest writes m as indented JSON to path ("-" = w). A file is written
// next to its destination and renamed, so readers never see half a manifest. A path that exists
// and is not a regular file (/dev/null, /dev/stdout, a pipe) is written in place: renaming over it
// would replace the device node with a file.
func writeManifest(path string, m *loadgen.Manifest, w io.Writer) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = w.Write(data)
		return err
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, werr := f.Write(data)
		return errors.Join(werr, f.Close())
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".manifest-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return errors.Join(err, tmp.Close(), os.Remove(tmp.Name()))
	}
	if err := tmp.Close(); err != nil {
		return errors.Join(err, os.Remove(tmp.Name()))
	}
	return os.Rename(tmp.Name(), path)
}

func scenarioNames() string {
	names := make([]string, len(loadgen.Scenarios))
	for i, s := range loadgen.Scenarios {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// sendPools reports the scenario's DB pool states once, as OTLP metrics.
func sendPools(o options, start time.Time) error {
	if !o.insecure {
		return errors.New("DB pool metrics are sent in plaintext only; run with -insecure")
	}
	conn, err := grpc.NewClient(o.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), o.cfg.ExportTimeout)
	defer cancel()
	return loadgen.SendDBPools(ctx, conn, o.cfg.Services, o.scenario.DBPools, start)
}
