package sampler

import "go.opentelemetry.io/collector/pdata/pcommon"

// decisionCache remembers the last size decisions (FIFO): a ring of trace ids and a map from trace
// id to the rule that kept the trace (RuleNone when it was dropped). A trace id is inserted once,
// when its trace is decided, so evicting the ring's oldest slot always removes the matching map key.
type decisionCache struct {
	ring []pcommon.TraceID
	next int
	full bool
	m    map[pcommon.TraceID]Rule
}

func newDecisionCache(size int) decisionCache {
	return decisionCache{ring: make([]pcommon.TraceID, size), m: make(map[pcommon.TraceID]Rule)}
}

func (c *decisionCache) get(id pcommon.TraceID) (Rule, bool) {
	r, ok := c.m[id]
	return r, ok
}

func (c *decisionCache) put(id pcommon.TraceID, r Rule) {
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
