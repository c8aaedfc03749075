// Package codectest holds the fixed key the recorded histories of the
// encrypted sets were written with. It is a test key: it protects nothing,
// and only tests and the recorder use it.
package codectest

import "github.com/partneraccess/partneraccess/internal/codec"

// Key encrypted workflows/testdata's encrypted sets (v7 on).
var Key = codec.Key{ID: "test-2026-12", Key: []byte("partner-access test codec key 32")}
