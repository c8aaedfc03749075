package secret

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ReadNamed reads a secret that configuration names but never holds: from
// the environment variable env when it is set, else from the file. what
// names the secret and where the process reading it ("the client secret",
// "the server"). Its errors name the source, never the value.
func ReadNamed(env, file, what, where string) (string, error) {
	if env != "" {
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("%s variable %s is not set on %s", what, env, where)
		}
		return v, nil
	}
	if file == "" {
		return "", fmt.Errorf("%s names neither a variable nor a file", what)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s file %s cannot be read on %s: %v", what, file, where, errors.Unwrap(err))
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s file %s is empty", what, file)
	}
	return v, nil
}
