// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbustest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

func mustSubscribe(t *testing.T, id string, types []string) []byte {
	t.Helper()
	b, err := wire.NewEncoder().Subscribe(id, wire.SubscribeBody{EventTypes: types})
	require.NoError(t, err)
	return b
}
