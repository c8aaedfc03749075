package slapdtest_test

import (
	"strings"
	"testing"

	"github.com/partneraccess/partneraccess/internal/slapdtest"
)

func TestSlapdServesTheBaseEntriesOverLDAPS(t *testing.T) {
	s := slapdtest.Start(t)
	members := s.Members(slapdtest.GroupDN)
	if len(members) != 2 || !strings.Contains(strings.Join(members, ";"), "cn=placeholder") {
		t.Fatalf("the group's members: %v", members)
	}
	s.Stop()
	s.Restart()
	if got := s.Members(slapdtest.GroupDN); len(got) != 2 {
		t.Fatalf("after a restart: %v", got)
	}
}
