package codec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// Has reports whether the codec holds the key with this ID.
func (c *Codec) Has(id string) bool {
	_, ok := c.aeads[id]
	return ok
}

// MissingKey is a key that open workflows' payloads are encrypted with and
// this process lacks, with one of those workflows.
type MissingKey struct {
	ID         string
	WorkflowID string
	Workflows  int // how many of the open workflows looked at use it
}

// checkOpen is how many open workflows CheckOpenWorkflows looks at, at
// most: each costs one small request (the first event of its history).
const checkOpen = 1000

// CheckOpenWorkflows reads the start input of the namespace's open
// workflows (up to checkOpen), which history keeps encrypted, and returns
// the keys they were written with that c lacks. A worker without such a
// key would fail each of those workflows for good at its next task: the
// SDK fails a run whose input it cannot decode.
func CheckOpenWorkflows(ctx context.Context, tc client.Client, namespace string, c *Codec) ([]MissingKey, error) {
	var missing []MissingKey
	var token []byte
	for seen := 0; seen < checkOpen; {
		res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, PageSize: 100, NextPageToken: token, Query: "ExecutionStatus = 'Running'"})
		if err != nil {
			return nil, fmt.Errorf("list the open workflows: %w", err)
		}
		for _, ex := range res.GetExecutions() {
			seen++
			h, err := tc.WorkflowService().GetWorkflowExecutionHistory(ctx, &workflowservice.GetWorkflowExecutionHistoryRequest{
				Namespace: namespace, Execution: ex.GetExecution(), MaximumPageSize: 1})
			if err != nil {
				return nil, fmt.Errorf("read the history of %s: %w", ex.GetExecution().GetWorkflowId(), err)
			}
			for _, e := range h.GetHistory().GetEvents() {
				if id := c.lacking(e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()); id != "" {
					if i := slices.IndexFunc(missing, func(m MissingKey) bool { return m.ID == id }); i >= 0 {
						missing[i].Workflows++
					} else {
						missing = append(missing, MissingKey{ID: id, WorkflowID: ex.GetExecution().GetWorkflowId(), Workflows: 1})
					}
				}
			}
		}
		if token = res.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return missing, nil
}

// lacking is the ID of the first key of payloads that c lacks, or "".
func (c *Codec) lacking(payloads []*commonpb.Payload) string {
	for _, p := range payloads {
		id := string(p.GetMetadata()[MetadataKeyID])
		if string(p.GetMetadata()[MetadataEncoding]) == EncodingEncrypted && !c.Has(id) {
			return id
		}
	}
	return ""
}

// Recovery says what a missing key means and how to get the workflows
// going again, for the log and the start banner.
func (m MissingKey) Recovery() string {
	var how string
	if strings.HasPrefix(m.ID, "sk-") {
		how = "it was derived from another SECRET_KEY (the key file in DATA_DIR, secret.key, or the SECRET_KEY variable): " +
			"start again with that key; keys in TEMPORAL_CODEC_KEYS cannot stand in for it"
	} else {
		how = "add it back to TEMPORAL_CODEC_KEYS, as id:base64key after the key that encrypts (keep old keys for TEMPORAL_RETENTION)"
	}
	return fmt.Sprintf("%d open workflows (one is %s) have payloads encrypted with key %q, which this process does not have: "+
		"a worker without it would fail them for good. To recover, %s", m.Workflows, m.WorkflowID, m.ID, how)
}

// KeyID is the ID of the key that encrypts.
func (c *Codec) KeyID() string { return c.first }
