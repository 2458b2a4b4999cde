package sampler

import "go.opentelemetry.io/collector/pdata/pcommon"

// decisionCache remembers the last size decisions (FIFO): a ring of trace ids and a map from trace
// id to the rule that kept the trace (RuleNone when it was dropped) and, under a budget, the grid
// level of the probability it was kept with (0: the rule's own threshold). A trace id is inserted once,
// when its trace is decided, so evicting the ring's oldest slot always removes the matching map key.
type decisionCache struct {
	ring []pcommon.TraceID
	next int
	full bool
	m    map[pcommon.TraceID]cached
}

// cached is one remembered decision.
type cached struct {
	rule  Rule
	level uint16
}

func newDecisionCache(size int) decisionCache {
	return decisionCache{ring: make([]pcommon.TraceID, size), m: make(map[pcommon.TraceID]cached)}
}

func (c *decisionCache) get(id pcommon.TraceID) (cached, bool) {
	r, ok := c.m[id]
	return r, ok
}

func (c *decisionCache) put(id pcommon.TraceID, r cached) {
	if _, ok := c.m[id]; ok {
		c.m[id] = r
		return
	}
	if c.full {
		delete(c.m, c.ring[c.next])
	}
	c.ring[c.next] = id
	c.m[id] = r
	c.next++
	if c.next == len(c.ring) {
		c.next, c.full = 0, true
	}
}

func (c *decisionCache) len() int { return len(c.m) }
