package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
)

// ports are the server's listening ports. They are kept in DATA_DIR and
// reused on restart: the cluster membership remembers hosts by address, and
// a restarted server on new ports would wait about a minute for its former
// self to be declared gone before it routes any task.
type ports struct {
	Frontend, History, Matching, Worker                                         int
	FrontendMembership, HistoryMembership, MatchingMembership, WorkerMembership int
	Metrics                                                                     int
}

func (p ports) all() []int {
	return []int{p.Frontend, p.History, p.Matching, p.Worker, p.FrontendMembership, p.HistoryMembership,
		p.MatchingMembership, p.WorkerMembership}
}

// loadPorts returns the given internal ports (TEMPORAL_PORTS) when there
// are any, else the saved ports when they suit the requested frontend port
// (0: any) and are free, else new free ones; they are saved for next time.
func loadPorts(dir, host string, frontend int, internal []int) (ports, error) {
	path := filepath.Join(dir, "temporal-ports.json")
	if internal != nil {
		return fixedPorts(path, host, frontend, internal)
	}
	var saved ports
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &saved) == nil &&
		(frontend == 0 || frontend == saved.Frontend) && allFree(host, saved.all()) {
		return saved, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return ports{}, err
	}
	if frontend != 0 {
		if err := portFree(host, frontend); err != nil {
			return ports{}, fmt.Errorf("frontend address %s: %w", net.JoinHostPort(host, strconv.Itoa(frontend)), err)
		}
	}
	free, err := freePorts(host, 8)
	if err != nil {
		return ports{}, err
	}
	if frontend == 0 {
		frontend = free[0]
	}
	return savePorts(path, frontend, free[1:])
}

// fixedPorts uses the seven internal ports given, each of which must be
// free, with the frontend's.
func fixedPorts(path, host string, frontend int, internal []int) (ports, error) {
	if len(internal) != 7 {
		return ports{}, fmt.Errorf("TEMPORAL_PORTS: %d ports, want 7", len(internal))
	}
	for _, p := range internal {
		if p == frontend {
			return ports{}, fmt.Errorf("TEMPORAL_PORTS: %d is the frontend's port too", p)
		}
		if err := portFree(host, p); err != nil {
			return ports{}, fmt.Errorf("TEMPORAL_PORTS: %s: %w", net.JoinHostPort(host, strconv.Itoa(p)), err)
		}
	}
	if frontend == 0 {
		free, err := freePorts(host, 1)
		if err != nil {
			return ports{}, err
		}
		frontend = free[0]
	}
	return savePorts(path, frontend, internal)
}

// savePorts names the ports (the frontend's and seven internal ones, in
// the order of ports' fields) and keeps them in path for the next start.
func savePorts(path string, frontend int, internal []int) (ports, error) {
	p := ports{Frontend: frontend, History: internal[0], Matching: internal[1], Worker: internal[2], FrontendMembership: internal[3],
		HistoryMembership: internal[4], MatchingMembership: internal[5], WorkerMembership: internal[6]}
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(path, b, 0o640); err != nil {
		return ports{}, err
	}
	return p, nil
}

func allFree(host string, ps []int) bool {
	for _, p := range ps {
		if p == 0 || portFree(host, p) != nil {
			return false
		}
	}
	return true
}

// freePorts returns n distinct free ports, held open together so that none
// is handed out twice.
func freePorts(host string, n int) ([]int, error) {
	out := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", host, err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func portFree(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("port %d is in use or not allowed; choose another address", port)
	}
	return ln.Close()
}
