// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package testkernel // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"

import "strconv"

// ScriptedEvent is one kernel event of a scripted process lifecycle, OffsetMs
// after the script's start.
type ScriptedEvent struct {
	Type     string
	Payload  string
	OffsetMs int64
}

// Lifecycle returns the six kernel events of one complete lifecycle of
// process i (created, running, waiting for a clarification, resumed, quota
// exhausted, terminated), 1 ms apart, starting 10·i ms after the script's
// start: the shape the benchmarks and translation tests replay.
func Lifecycle(i int) []ScriptedEvent {
	pid := `"pid":"proc-` + strconv.Itoa(i) + `"`
	ms := int64(i) * 10
	return []ScriptedEvent{
		{"process.created", `{` + pid + `,"request_id":"req-` + strconv.Itoa(i) + `","user_id":"u-1","session_id":"sess-1"}`, ms},
		{"process.state_changed", `{` + pid + `,"old_state":"READY","new_state":"RUNNING","reason":"scheduled","session_id":"sess-1"}`, ms + 1},
		{"process.state_changed", `{` + pid + `,"old_state":"RUNNING","new_state":"WAITING","reason":"clarification requested","session_id":"sess-1"}`, ms + 2},
		{"process.resumed", `{` + pid + `,"session_id":"sess-1"}`, ms + 3},
		{"resource.exhausted", `{` + pid + `,"session_id":"sess-1","reason":"max_llm_calls_exceeded","usage":{"llm_calls":50,"tool_calls":3,"agent_hops":7,"tokens_in":1200,"tokens_out":800}}`, ms + 4},
		{"process.terminated", `{` + pid + `,"session_id":"sess-1"}`, ms + 5},
	}
}
