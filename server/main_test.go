package server_test

import (
	"testing"

	"github.com/partneraccess/partneraccess/internal/testenv"
)

// The package's tests share one Temporal server, each in its own namespace.
func TestMain(m *testing.M) { testenv.Main(m) }
