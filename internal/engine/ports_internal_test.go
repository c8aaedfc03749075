package engine

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TEMPORAL_PORTS fixes the internal ports: they are used and saved when
// free, and a busy one is named.
func TestGivenInternalPortsAreUsedOrTheBusyOneNamed(t *testing.T) {
	dir := t.TempDir()
	free, err := freePorts("127.0.0.1", 8)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadPorts(dir, "127.0.0.1", free[0], free[1:])
	if err != nil {
		t.Fatal(err)
	}
	if p.Frontend != free[0] || p.History != free[1] || p.WorkerMembership != free[7] {
		t.Fatalf("ports %+v, want %v", p, free)
	}
	var saved ports
	b, _ := os.ReadFile(filepath.Join(dir, "temporal-ports.json"))
	if json.Unmarshal(b, &saved) != nil || saved != p {
		t.Fatalf("saved %s, want %+v", b, p)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	internal := append([]int{port}, free[2:]...)
	if _, err := loadPorts(dir, "127.0.0.1", free[0], internal); err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("a busy port: %v, want it named", err)
	}
}
