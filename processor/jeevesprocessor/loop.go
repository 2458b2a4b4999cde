// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import "time"

// loop calls fn every interval on its own goroutine until halted.
type loop struct {
	stop chan struct{}
	done chan struct{}
}

func startLoop(every time.Duration, fn func()) *loop {
	l := &loop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return l
}

// halt stops the loop and waits for a running fn to return; nil-safe.
func (l *loop) halt() {
	if l == nil {
		return
	}
	close(l.stop)
	<-l.done
}
