package main

import (
	"sync"
	"time"
)

// record is one alert of one notification, as GET /alerts returns it.
type record struct {
	ReceivedAt   time.Time         `json:"receivedAt"`
	Receiver     string            `json:"receiver"`
	GroupKey     string            `json:"groupKey"`
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// store keeps the newest records in a ring of fixed capacity; adding to a full ring evicts the
// oldest record and counts it as dropped.
type store struct {
	mu       sync.Mutex
	ring     []record
	next     int    // where the next record goes
	full     bool   // the ring has wrapped at least once
	received uint64 // every record ever added
	dropped  uint64 // records evicted to make room
}

func newStore(capacity int) *store {
	return &store{ring: make([]record, capacity)}
}

func (s *store) add(recs ...record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		if s.full {
			s.dropped++
		}
		s.ring[s.next] = r
		s.next++
		if s.next == len(s.ring) {
			s.next = 0
			s.full = true
		}
		s.received++
	}
}

// snapshot returns the kept records, oldest first, that keep accepts (nil keeps all), and the counters.
func (s *store) snapshot(keep func(*record) bool) (recs []record, received, dropped uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next
	start := 0
	if s.full {
		n = len(s.ring)
		start = s.next
	}
	recs = make([]record, 0, n)
	for i := 0; i < n; i++ {
		r := &s.ring[(start+i)%len(s.ring)]
		if keep == nil || keep(r) {
			recs = append(recs, *r)
		}
	}
	return recs, s.received, s.dropped
}

// reset forgets every record and zeroes the counters.
func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.ring)
	s.next, s.full, s.received, s.dropped = 0, false, 0, 0
}
