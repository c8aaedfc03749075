// Package record drives every path of the assignment workflow through the
// real service (HTTP handler, worker, activities) on a real in-process
// Temporal server, and keeps each run's history for the replay tests in
// package workflows. It holds only tests:
//
//	go test ./workflows/record                     # record into a temp dir, check, replay
//	go test ./workflows/record -record=v2          # write workflows/testdata/v2/*.json
//
// See docs/changing-the-workflow.md for when to record a new set.
package record
