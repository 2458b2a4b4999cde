package sampler

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hand computation: the threshold is the rejected share of 2^56, rounded to `precision` significant
// hex digits, e.g. 10% keeps 0.1 so rejects 0.9*16^4 = 58982.4 -> 58982 = 0xe666. Near 0 pkg/sampling
// adds one digit per leading f: 1% rejects 0.99, 0.99*16^2 = 253.44 -> 0xfd at precision 1.
func TestThresholdPerPrecision(t *testing.T) {
	want := map[float64][4]string{
		10:  {"e", "e6", "e66", "e666"},
		1:   {"fd", "fd7", "fd71", "fd70a"},
		50:  {"8", "8", "8", "8"},
		100: {"0", "0", "0", "0"},
	}
	for pct, byPrecision := range want {
		for i, w := range byPrecision {
			got, err := Threshold(pct, i+1)
			require.NoError(t, err)
			assert.Equal(t, w, got, "percentage %v precision %d", pct, i+1)
		}
	}
	got, err := Threshold(25, 14)
	require.NoError(t, err)
	assert.Equal(t, "c", got)
	_, err = Threshold(0, 4)
	assert.Error(t, err)
}

func TestStampStrings(t *testing.T) {
	th, err := threshold(10, 4)
	require.NoError(t, err)
	s := newStamp(th)
	assert.Equal(t, "e666", s.tvalue)
	assert.Equal(t, "ot=th:e666", s.alone)
	assert.Equal(t, "ot=th:0", alwaysStamp.alone)
	assert.Equal(t, fmt.Sprint(uint64(0xe666)<<40), fmt.Sprint(th.Unsigned()))
}
