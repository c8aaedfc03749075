package workflows

import "go.temporal.io/sdk/workflow"

// versionJustified marks the change that makes access follow its
// justification: signals are acted on only when a server vouched for them
// and while they may still count, every customer user and the requester are
// told, emails are retried for a bounded time and handed over to a
// separate workflow when the assignment ends, so they never hold it open.
// Runs started before it keep the old behaviour (docs/changing-the-workflow.md).
const versionJustified = "access-follows-justification"

// versions are the workflow changes that apply to this run, read once at
// its start (docs/changing-the-workflow.md).
type versions struct {
	justified   bool // versionJustified
	extended    bool // versionExtension
	vouched     bool // versionVouchedStart: the start was checked, and a signal counts once, while fresh
	cancellable bool // versionCancelIsUnassign
	directory   bool // versionDirectory
	policy      bool // versionPolicy
	desktops    bool // versionDesktopWarning
}

// readVersions reads the changes in the order runs have always read them:
// a version marker's place in history is part of the run.
func readVersions(ctx workflow.Context) versions {
	applies := func(change string) bool {
		return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == 1
	}
	return versions{
		justified:   applies(versionJustified),
		extended:    applies(versionExtension),
		vouched:     applies(versionVouchedStart),
		cancellable: applies(versionCancelIsUnassign),
		directory:   applies(versionDirectory),
		policy:      applies(versionPolicy),
		desktops:    applies(versionDesktopWarning),
	}
}
