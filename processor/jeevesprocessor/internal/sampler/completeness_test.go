package sampler

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompletenessCountsBrokenTracesByService(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	// Trace 1: whole, over two services. Trace 2: the orchestrator's span names a parent (span 9)
	// that its caller never exported. Trace 3: only children arrive, their root (span 1) never does.
	tl.Consume(batch("gateway", spanSpec{trace: 1, span: 1, parent: -1, dur: time.Millisecond},
		spanSpec{trace: 2, span: 1, parent: -1, dur: time.Millisecond}))
	tl.Consume(batch("orchestrator", spanSpec{trace: 1, span: 2, parent: 1, dur: time.Millisecond},
		spanSpec{trace: 2, span: 2, parent: 9, dur: time.Millisecond},
		spanSpec{trace: 3, span: 2, parent: 1, dur: time.Millisecond},
		spanSpec{trace: 3, span: 3, parent: 2, dur: time.Millisecond}))
	c, ok := tl.Completeness()
	require.True(t, ok)
	assert.Zero(t, c.Complete+c.Broken, "nothing decided yet")

	tl.Tick(t0.Add(time.Minute))
	c, ok = tl.Completeness()
	require.True(t, ok)
	assert.Equal(t, uint64(1), c.Complete)
	assert.Equal(t, uint64(2), c.Broken)
	assert.Equal(t, map[string]uint64{"orchestrator": 2}, c.BrokenByService)
}

func TestCompletenessLargeTrace(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	specs := []spanSpec{{trace: 1, span: 0, parent: -1, dur: time.Millisecond}}
	for i := uint64(1); i <= 3*smallTrace; i++ {
		specs = append(specs, spanSpec{trace: 1, span: i, parent: int64(i - 1), dur: time.Millisecond})
	}
	broken := append([]spanSpec(nil), specs...)
	for i := range broken {
		broken[i].trace = 2
	}
	broken[len(broken)-1].parent = 5000 // the last span's parent never arrives
	tl.Consume(batch("svc", specs...))
	tl.Consume(batch("other", broken...))
	tl.Tick(t0.Add(time.Minute))
	c, _ := tl.Completeness()
	assert.Equal(t, uint64(1), c.Complete)
	assert.Equal(t, map[string]uint64{"other": 1}, c.BrokenByService)
}

// Every bound gets a test that hits it: services beyond MaxBrokenServices share one name.
func TestCompletenessServicesBounded(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	for i := range MaxBrokenServices + 10 {
		tl.Consume(batch(fmt.Sprintf("svc-%d", i), spanSpec{trace: uint64(i), span: 2, parent: 1, dur: time.Millisecond}))
	}
	tl.Tick(t0.Add(time.Minute))
	c, _ := tl.Completeness()
	assert.Equal(t, uint64(MaxBrokenServices+10), c.Broken)
	assert.Len(t, c.BrokenByService, MaxBrokenServices+1)
	assert.Equal(t, uint64(10), c.BrokenByService[OtherService])
}

func TestCompletenessUnknownInHeadMode(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeHead
	h, err := New(cfg, nil)
	require.NoError(t, err)
	_, ok := h.Completeness()
	assert.False(t, ok)
}

func BenchmarkCompletenessRecord(b *testing.B) {
	for _, n := range []int{8, 200} {
		b.Run(fmt.Sprintf("spans=%d", n), func(b *testing.B) {
			specs := []spanSpec{{trace: 1, span: 0, parent: -1, dur: time.Millisecond}}
			for i := 1; i < n; i++ {
				specs = append(specs, spanSpec{trace: 1, span: uint64(i), parent: int64(i - 1), dur: time.Millisecond})
			}
			td := batch("svc", specs...)
			tl, _ := newTestTail(b, nil)
			tl.Consume(td)
			e := tl.(*tail).traces[testTraceID(1)]
			var c completeness
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				c.record(e)
			}
		})
	}
}
