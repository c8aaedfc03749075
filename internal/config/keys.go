package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/partneraccess/partneraccess/internal/codec"
	"github.com/partneraccess/partneraccess/internal/secret"
)

// Codec is the payload codec of every Temporal client and worker:
// CodecKeys, the first encrypting, then the key derived from SecretKey
// (load it first), which encrypts when CodecKeys is empty and otherwise
// still decrypts what it wrote before.
func (c *Config) Codec() (*codec.Codec, error) {
	derived, err := codec.DerivedKey(c.SecretKey)
	if err != nil {
		return nil, err
	}
	keys := append([]codec.Key(nil), c.CodecKeys...)
	if !slices.ContainsFunc(keys, func(k codec.Key) bool { return k.ID == derived.ID }) {
		keys = append(keys, derived)
	}
	return codec.New(keys)
}

// WriteNewSecretKey writes a new key to path, made with the file: a file
// already there (a key other data depends on) is never replaced.
func WriteNewSecretKey(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists, and is kept: the data written with it (approval links, temporary passwords, Temporal payloads) needs it. "+
			"Use it as it is (SECRET_KEY=$(cat %s)), or give another file for another data folder", path, path)
	} else if err != nil {
		return err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(secret.NewMasterKey()) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadOrCreateSecretKey returns the configured key or, in one-process mode,
// the key kept in DATA_DIR (made on the first start), so approval links and
// credentials survive a restart.
func (c *Config) LoadOrCreateSecretKey() error {
	if c.SecretKey != nil {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := secret.NewMasterKey()
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		c.SecretKey = key
		return nil
	} else if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if c.SecretKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(c.SecretKey) < secret.KeySize {
		return fmt.Errorf("%s does not hold a valid key; delete it to make a new one", path)
	}
	return nil
}
