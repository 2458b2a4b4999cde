package sampler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestSpanKeeperFollowsProtoPooling: tail mode holds incoming spans themselves, unless pdata's proto
// pooling is on (their memory may then be reused after the call), when it holds copies.
func TestSpanKeeperFollowsProtoPooling(t *testing.T) {
	in := ptrace.NewSpan()
	in.SetName("arrived")

	held := spanKeeper()(in)
	in.SetName("changed later")
	assert.Equal(t, "changed later", held.Name(), "pooling off: the span itself is held")

	require.NoError(t, featuregate.GlobalRegistry().Set(protoPoolingGate, true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(protoPoolingGate, false)) })
	in.SetName("arrived")
	held = spanKeeper()(in)
	in.SetName("changed later")
	assert.Equal(t, "arrived", held.Name(), "pooling on: a copy is held")
}
