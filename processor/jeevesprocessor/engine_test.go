// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

// TestFinalFlushHoldsNoRegistryLock: the flush at Shutdown calls the next
// consumer with no lock held, not even the registry's (shared by every
// component ID). A consumer that creates another jeeves connector during
// that flush would deadlock otherwise.
func TestFinalFlushHoldsNoRegistryLock(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	created := make(chan error, 4)
	next, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
		set := connectortest.NewNopSettings(metadata.Type)
		set.ID = component.NewIDWithName(metadata.Type, "during_flush")
		c, err := NewFactory().CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
		if err == nil {
			err = c.Shutdown(ctx)
		}
		created <- err
		return nil
	})
	require.NoError(t, err)
	c, err := NewFactory().CreateTracesToMetrics(ctx, connectortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(ctx, readTraces(t, filepath.Join("testdata", "jeeves_v1", "input.yaml"))))

	done := make(chan error, 1)
	go func() { done <- c.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown blocked: the final flush holds the registry lock")
	}
	require.Len(t, created, 1, "one final flush")
	require.NoError(t, <-created)
}
