// Package secret holds the service's keys and the random values it hands out:
// approval tokens, session tokens and temporary passwords.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the minimum length of the master key.
const KeySize = 32

// TokenLen is the length of an approval or session token: 32 bytes in
// unpadded base64url (256 bits; the spec asks for at least 128).
const TokenLen = 43

// Keys are derived from one master key (SECRET_KEY), each for one purpose.
type Keys struct {
	approval []byte
	signal   []byte
	device   []byte
	aead     cipher.AEAD
}

// NewKeys derives the service keys from a master key of at least KeySize bytes.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) < KeySize {
		return nil, fmt.Errorf("secret key must be at least %d bytes, got %d", KeySize, len(master))
	}
	approval, err := hkdf.Key(sha256.New, master, nil, "partner-access approval tokens v1", 32)
	if err != nil {
		return nil, err
	}
	signal, err := hkdf.Key(sha256.New, master, nil, "partner-access workflow signals v1", 32)
	if err != nil {
		return nil, err
	}
	device, err := hkdf.Key(sha256.New, master, nil, "partner-access device cookies v1", 32)
	if err != nil {
		return nil, err
	}
	enc, err := hkdf.Key(sha256.New, master, nil, "partner-access credentials v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{approval: approval, signal: signal, device: device, aead: aead}, nil
}

// NewMasterKey returns a fresh random master key.
func NewMasterKey() []byte {
	return []byte(rand.Text() + rand.Text())
}

// ApprovalToken is the token of one approver for one assignment. It is
// derived, not stored, so a retried email carries the same link; only its
// hash is kept in the store.
func (k *Keys) ApprovalToken(assignmentID, approverID string) string {
	m := hmac.New(sha256.New, k.approval)
	m.Write([]byte(assignmentID))
	m.Write([]byte{0})
	m.Write([]byte(approverID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SignSignal is the MAC by which a server vouches for a signal it sends to a
// workflow: over the fields in order, each length-prefixed so that no two
// lists of fields sign alike. Workers check it with VerifySignal.
func (k *Keys) SignSignal(fields ...string) string { return sign(k.signal, fields) }

func sign(key []byte, fields []string) string {
	m := hmac.New(sha256.New, key)
	for _, f := range fields {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// VerifySignal reports whether mac is SignSignal of the fields, in constant time.
func (k *Keys) VerifySignal(mac string, fields ...string) bool {
	return hmac.Equal([]byte(mac), []byte(k.SignSignal(fields...)))
}

// DeviceCookie is the value of a device cookie: proof that this browser or
// client once logged in to account, so that others' failed logins against
// the account never lock it out. It is a random ID and a MAC over it and
// the account.
func (k *Keys) DeviceCookie(account string) string {
	id := NewToken()
	return id + "." + sign(k.device, []string{"device", id, account})
}

// DeviceID is the ID of a device cookie made for account; false for any
// other value.
func (k *Keys) DeviceID(cookie, account string) (string, bool) {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || len(id) != TokenLen {
		return "", false
	}
	return id, hmac.Equal([]byte(mac), []byte(sign(k.device, []string{"device", id, account})))
}

// NewToken returns a random token (sessions).
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrMalformedToken is returned for a string that cannot be a token.
var ErrMalformedToken = errors.New("malformed token")

// ParseToken checks that s has the shape of a token and returns it.
func ParseToken(s string) (string, error) {
	if len(s) != TokenLen {
		return "", ErrMalformedToken
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		return "", ErrMalformedToken
	}
	return s, nil
}

// HashToken is what the store keeps of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Seal encrypts a secret bound to its owner (e.g. an assignment ID).
func (k *Keys) Seal(plaintext []byte, owner string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, []byte(owner))
}

// Open decrypts what Seal encrypted for the same owner.
func (k *Keys) Open(ciphertext []byte, owner string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("ciphertext too short")
	}
	return k.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(owner))
}

// NewPassword returns a strong temporary password that meets common
// directory complexity rules (upper, lower, digit, symbol).
func NewPassword() string {
	const (
		upper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower  = "abcdefghijkmnopqrstuvwxyz"
		digits = "23456789"
		symbol = "!@#$%*+-=?"
		all    = upper + lower + digits + symbol
	)
	pw := []byte{pick(upper), pick(lower), pick(digits), pick(symbol)}
	for len(pw) < 20 {
		pw = append(pw, pick(all))
	}
	for i := len(pw) - 1; i > 0; i-- {
		j := randN(i + 1)
		pw[i], pw[j] = pw[j], pw[i]
	}
	return string(pw)
}

func pick(set string) byte { return set[randN(len(set))] }

// randN returns a uniform random int in [0, n) from crypto/rand.
func randN(n int) int {
	var b [1]byte
	limit := 256 - 256%n
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
