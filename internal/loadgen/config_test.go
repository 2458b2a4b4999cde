package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Traces = 0
	cfg.Duration = 0
	cfg.Rate = math.NaN()
	cfg.ErrorRatio = 1.5
	cfg.SlowRatio = -0.1
	cfg.TerminatedRatio = math.NaN()
	cfg.Services.Orchestrator = ""
	cfg.BatchSize = MaxBatchSize + 1
	cfg.Exporters = 0
	cfg.ExportTimeout = 0
	want := "traces and duration are both 0: set at least one limit\n" +
		"rate must be >= 0 (0 = unthrottled), got NaN\n" +
		"error_ratio must be in [0, 1], got 1.5\n" +
		"slow_ratio must be in [0, 1], got -0.1\n" +
		"terminated_ratio must be in [0, 1], got NaN\n" +
		"services.orchestrator must not be empty\n" +
		"batch_size must be in [1, 8192], got 8193\n" +
		"exporters must be in [1, 64], got 0\n" +
		"export_timeout must be > 0, got 0s"
	err := cfg.Validate()
	if err == nil || err.Error() != want {
		t.Fatalf("Validate() =\n%v\nwant\n%s", err, want)
	}
}

func TestValidateNegativeLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Traces = -1
	cfg.Duration = -time.Second
	want := "traces must be >= 0, got -1\nduration must be >= 0, got -1s"
	if err := cfg.Validate(); err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %q", err, want)
	}
}

// The bounds themselves are valid.
func TestValidateAcceptsBounds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.Exporters = MaxBatchSize, MaxExporters
	cfg.ErrorRatio, cfg.SlowRatio, cfg.TerminatedRatio, cfg.LaterGenRatio = 1, 0, 1, 0
	cfg.Traces, cfg.Duration = 0, time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestPhases(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Phases = []Phase{{Rate: 10, Duration: 2 * time.Second, ErrorRatio: 0}, {Rate: 100, Duration: time.Second, ErrorRatio: 1}}
	cfg.Traces = 5
	if err := cfg.Validate(); err == nil || err.Error() != "traces must equal the phases' total 120 when phases are set, got 5" {
		t.Fatalf("got %v", err)
	}
	cfg.Traces = cfg.PhaseTraces()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := NewGenerator(cfg)
	for i, want := range map[int]struct {
		off   time.Duration
		error bool
	}{0: {0, false}, 19: {1900 * time.Millisecond, false}, 20: {2 * time.Second, true}, 119: {2990 * time.Millisecond, true}} {
		p := g.Trace(i)
		if p.Offset != want.off || p.Error != want.error {
			t.Errorf("trace %d: offset %v error %v, want %v %v", i, p.Offset, p.Error, want.off, want.error)
		}
	}
	bad := cfg
	bad.Phases = []Phase{{Rate: 0, Duration: time.Second, ErrorRatio: 2}}
	bad.Traces = 0
	if err := bad.Validate(); err == nil {
		t.Fatal("invalid phase accepted")
	}
}

func TestParsePhases(t *testing.T) {
	got, err := ParsePhases("30x20s@0.05, 300x1m@0.9")
	if err != nil {
		t.Fatal(err)
	}
	want := []Phase{{Rate: 30, Duration: 20 * time.Second, ErrorRatio: 0.05}, {Rate: 300, Duration: time.Minute, ErrorRatio: 0.9}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v", got)
	}
	for in, msg := range map[string]string{
		"30x20s":          `phase 0 "30x20s": want RATExDURATION@ERRORS, e.g. 300x60s@0.9`,
		"0x20s@0":         `phase 0 "0x20s@0": rate must be a positive number`,
		"1x-1s@0":         `phase 0 "1x-1s@0": duration must be positive, like 60s`,
		"1x1s@1.5":        `phase 0 "1x1s@1.5": error ratio must be in [0, 1]`,
		"0.5x1s@0":        `phase 0 "0.5x1s@0": must start between 1 and 100000000 traces, got rate x duration = 0`,
		"1x1s@0,1e9x1h@0": `phase 1 "1e9x1h@0": must start between 1 and 100000000 traces, got rate x duration = 1000000000`,
	} {
		if _, err := ParsePhases(in); err == nil || err.Error() != msg {
			t.Errorf("%q: got %v, want %s", in, err, msg)
		}
	}
}

// FuzzParsePhases: any input is either rejected or gives phases that validate.
func FuzzParsePhases(f *testing.F) {
	for _, s := range []string{"30x20s@0.05,300x60s@0.9", "1x1s@1", "x@", "NaNxInfs@NaN", "1e308x1h@0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		phases, err := ParsePhases(s)
		if err != nil {
			return
		}
		cfg := DefaultConfig()
		cfg.Phases = phases
		cfg.Traces = cfg.PhaseTraces()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%q parsed but does not validate: %v", s, err)
		}
	})
}
