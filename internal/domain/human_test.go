package domain

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{72 * time.Hour, "3 days"},
		{24 * time.Hour, "1 day"},
		{90 * time.Minute, "1 hour and 30 minutes"},
		{2 * time.Minute, "2 minutes"},
		{45 * time.Second, "45 seconds"},
		{25*time.Hour + 3*time.Minute, "1 day and 1 hour"},
		{24*time.Hour + 3*time.Minute, "1 day"},
		{500 * time.Millisecond, "less than a second"},
		{12 * time.Hour, "12 hours"},
		{30 * time.Hour, "1 day and 6 hours"},
		{168 * time.Hour, "7 days"},
		{90 * time.Second, "1 minute and 30 seconds"},
		{4900 * time.Millisecond, "5 seconds"},
	} {
		if got := HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestHumanEndReasonRewritesOnlyTheExpiry(t *testing.T) {
	for in, want := range map[string]string{
		"access expired after 72h0m0s":                               "access expired after 3 days",
		"access expired after 2m0s":                                  "access expired after 2 minutes",
		"unassigned by agent@partner.example: case 4711s after 2m0s": "unassigned by agent@partner.example: case 4711s after 2m0s",
		"": "",
	} {
		if got := HumanEndReason(in); got != want {
			t.Errorf("HumanEndReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApprovalProgressNamesWhoApprovedOnlyWhenSeveralAreNeeded(t *testing.T) {
	for _, tc := range []struct {
		required  int
		approvers []string
		want      string
	}{
		{1, nil, ""},
		{1, []string{"Casey Contoso"}, ""},
		{2, nil, "0 of 2 approvals"},
		{2, []string{"Casey Contoso"}, "1 of 2 approvals: Casey Contoso"},
		{3, []string{"Casey Contoso", "Olu Ops"}, "2 of 3 approvals: Casey Contoso, Olu Ops"},
	} {
		if got := ApprovalProgress(tc.required, tc.approvers); got != tc.want {
			t.Errorf("ApprovalProgress(%d, %v) = %q, want %q", tc.required, tc.approvers, got, tc.want)
		}
	}
}
