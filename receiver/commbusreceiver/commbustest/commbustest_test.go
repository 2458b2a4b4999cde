// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbustest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKernelRoundTrip uses only the exported surface: a publisher that is
// not subscribed gets NOT_FOUND for other services, and a subscriber on a
// raw client receives what the kernel publishes.
func TestKernelRoundTrip(t *testing.T) {
	k := StartKernel(t, "127.0.0.1:0")
	c, err := Dial(k.Addr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	typ, reply, err := c.Call("k1", "kernel", "CreateProcess", map[string]any{})
	require.NoError(t, err)
	assert.Equal(t, TypeError, typ)
	assert.Equal(t, "NOT_FOUND", reply.Err.Code)

	sub, err := Dial(k.Addr())
	require.NoError(t, err)
	defer func() { _ = sub.Close() }()
	_, err = sub.Conn.Write(mustSubscribe(t, "s1", []string{"process.created"}))
	require.NoError(t, err)
	require.NoError(t, k.WaitSubscribers(1, 5*time.Second))
	assert.Equal(t, []Subscription{{RequestID: "s1", EventTypes: []string{"process.created"}, SubscriberID: ""}}, k.History())
	assert.Equal(t, 1, k.Publish(Event{EventType: "process.created", Payload: `{"pid":"1"}`, Source: "kernel", TimestampMs: 5}))
	assert.Equal(t, 0, k.Publish(Event{EventType: "process.terminated", Payload: `{}`}))
}
