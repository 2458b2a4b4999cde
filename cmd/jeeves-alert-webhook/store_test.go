package main

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func fingerprints(recs []record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Fingerprint)
	}
	return out
}

func numbered(from, to int) []record {
	var recs []record
	for i := from; i <= to; i++ {
		recs = append(recs, record{Fingerprint: fmt.Sprint(i)})
	}
	return recs
}

func TestStoreKeepsTheNewestUpToItsCapacity(t *testing.T) {
	s := newStore(3)
	for _, tc := range []struct {
		add               []record
		want              []string
		received, dropped uint64
	}{
		{nil, []string{}, 0, 0},
		{numbered(1, 2), []string{"1", "2"}, 2, 0},
		{numbered(3, 3), []string{"1", "2", "3"}, 3, 0},
		{numbered(4, 4), []string{"2", "3", "4"}, 4, 1},
		{numbered(5, 11), []string{"9", "10", "11"}, 11, 8},
	} {
		s.add(tc.add...)
		recs, received, dropped := s.snapshot(nil)
		if got := fingerprints(recs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("after adding %v: kept %v, want %v", fingerprints(tc.add), got, tc.want)
		}
		if received != tc.received || dropped != tc.dropped {
			t.Errorf("after adding %v: received %d dropped %d, want %d and %d", fingerprints(tc.add), received, dropped, tc.received, tc.dropped)
		}
	}
	recs, _, _ := s.snapshot(func(r *record) bool { return r.Fingerprint != "10" })
	if got := fingerprints(recs); !reflect.DeepEqual(got, []string{"9", "11"}) {
		t.Errorf("filtered: %v", got)
	}
	s.reset()
	recs, received, dropped := s.snapshot(nil)
	if len(recs) != 0 || received != 0 || dropped != 0 {
		t.Errorf("after reset: %d records, received %d, dropped %d", len(recs), received, dropped)
	}
	s.add(numbered(12, 12)...)
	if recs, _, _ := s.snapshot(nil); !reflect.DeepEqual(fingerprints(recs), []string{"12"}) {
		t.Errorf("after reset and one add: %v", fingerprints(recs))
	}
}

func TestStoreOfOne(t *testing.T) {
	s := newStore(1)
	s.add(numbered(1, 3)...)
	recs, received, dropped := s.snapshot(nil)
	if !reflect.DeepEqual(fingerprints(recs), []string{"3"}) || received != 3 || dropped != 2 {
		t.Errorf("kept %v, received %d, dropped %d", fingerprints(recs), received, dropped)
	}
}

// Concurrent writers and readers: every add is counted once (run with -race).
func TestStoreConcurrent(t *testing.T) {
	s := newStore(50)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				s.add(record{})
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				s.snapshot(nil)
			}
		}()
	}
	wg.Wait()
	recs, received, dropped := s.snapshot(nil)
	if len(recs) != 50 || received != 800 || dropped != 750 {
		t.Errorf("kept %d, received %d, dropped %d", len(recs), received, dropped)
	}
}
