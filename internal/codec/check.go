package codec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
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

// checkOpen is how many open workflows CheckOpenWorkflows looks at: enough
// to find a changed key, which changes every payload written since.
const checkOpen = 50

// CheckOpenWorkflows reads the start input of the namespace's open
// workflows (at most checkOpen, newest first), which history keeps
// encrypted, and returns the keys they were written with that c lacks.
// Each of those workflows fails its every task until its key comes back.
func CheckOpenWorkflows(ctx context.Context, tc client.Client, namespace string, c *Codec) ([]MissingKey, error) {
	res, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: namespace, PageSize: checkOpen, Query: "ExecutionStatus = 'Running'"})
	if err != nil {
		return nil, fmt.Errorf("list the open workflows: %w", err)
	}
	var missing []MissingKey
	for _, ex := range res.GetExecutions() {
		wid, rid := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
		it := tc.GetWorkflowHistory(ctx, wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if !it.HasNext() {
			continue
		}
		first, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", wid, err)
		}
		for _, p := range first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads() {
			id := string(p.GetMetadata()[MetadataKeyID])
			if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted || c.Has(id) {
				continue
			}
			if i := slices.IndexFunc(missing, func(m MissingKey) bool { return m.ID == id }); i >= 0 {
				missing[i].Workflows++
			} else {
				missing = append(missing, MissingKey{ID: id, WorkflowID: wid, Workflows: 1})
			}
			break
		}
	}
	return missing, nil
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
		"they cannot run, and their status query fails until it is back. To recover, %s", m.Workflows, m.WorkflowID, m.ID, how)
}

// KeyID is the ID of the key that encrypts.
func (c *Codec) KeyID() string { return c.first }
