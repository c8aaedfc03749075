// Package codec keeps personal data out of Temporal: a payload codec that
// encrypts every payload the service's clients and workers send (workflow
// inputs and results, signals, queries, memos, user metadata, and failures'
// messages) with AES-256-GCM, so the Temporal cluster, its database and
// anyone who reaches its frontend see ciphertext. Each encrypted payload
// names its key's ID; the first key encrypts and every key decrypts, so
// keys can be rotated. A payload that is not encrypted (histories recorded
// before) passes through unchanged.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	MetadataEncoding  = converter.MetadataEncoding
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
)

// Key is one AES-256 key and its ID.
type Key struct {
	ID  string
	Key []byte // 32 bytes
}

// Codec encrypts with its first key and decrypts with any.
type Codec struct {
	first string
	aeads map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec over keys; the first encrypts.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no key")
	}
	c := &Codec{first: keys[0].ID, aeads: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("codec: key %q is %d bytes, want 32 (AES-256)", k.ID, len(k.Key))
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key ID %q is given twice", k.ID)
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, err
		}
		if c.aeads[k.ID], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// keyID is what a key's ID may be: it travels in every payload's metadata.
var keyID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeys reads TEMPORAL_CODEC_KEYS: "id:base64key,id:base64key", the
// first the one that encrypts.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("%q is not id:base64key (the ID: letters, digits, . _ -)", redact(part))
		}
		k, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("the key %q is not 32 bytes in base64 (e.g. openssl rand -base64 32)", id)
		}
		keys = append(keys, Key{ID: id, Key: k})
	}
	if len(keys) == 0 {
		return nil, errors.New("no key given")
	}
	return keys, nil
}

// redact keeps a key's ID and hides the rest.
func redact(part string) string {
	if id, _, ok := strings.Cut(part, ":"); ok {
		return id + ":…"
	}
	return "…"
}

// DerivedKey is the key used when TEMPORAL_CODEC_KEYS is unset: derived
// from SECRET_KEY with HKDF-SHA256. Its ID names the key, not the secret,
// so a process with another SECRET_KEY fails naming a key it lacks.
func DerivedKey(secretKey []byte) (Key, error) {
	k, err := hkdf.Key(sha256.New, secretKey, nil, "partner-access temporal payload codec v1", 32)
	if err != nil {
		return Key{}, err
	}
	sum := sha256.Sum256(k)
	return Key{ID: "sk-" + hex.EncodeToString(sum[:4]), Key: k}, nil
}

// Encode encrypts each payload with the first key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.first]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{MetadataEncoding: []byte(EncodingEncrypted), MetadataKeyID: []byte(c.first)},
			Data:     aead.Seal(nonce, nonce, plain, []byte(c.first)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload; others pass through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, &UnknownKeyError{ID: id}
		}
		n := aead.NonceSize()
		if len(p.Data) < n {
			return nil, fmt.Errorf("codec: a payload under key %q is too short to decrypt", id)
		}
		plain, err := aead.Open(nil, p.Data[:n], p.Data[n:], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("codec: a payload under key %q does not decrypt (another key with that ID, or altered)", id)
		}
		var dp commonpb.Payload
		if err := proto.Unmarshal(plain, &dp); err != nil {
			return nil, fmt.Errorf("codec: a payload under key %q: %w", id, err)
		}
		out[i] = &dp
	}
	return out, nil
}

// UnknownKeyError is a payload encrypted with a key this process lacks.
type UnknownKeyError struct{ ID string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("codec: the payload was encrypted with key %q, which this process does not have: add it to TEMPORAL_CODEC_KEYS (keep old keys at least as long as TEMPORAL_RETENTION)", e.ID)
}

// Converters are the data and failure converters every client and worker
// of the service uses: the default data converter behind the codec, and
// failures whose message and stack trace are encrypted too.
func Converters(c *Codec) (converter.DataConverter, converter.FailureConverter) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	return dc, temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
}

// ClientOptions sets the converters of c on a Temporal client's options:
// the client, and every worker made from it, encrypt and decrypt with it.
func ClientOptions(opts *client.Options, c *Codec) {
	opts.DataConverter, opts.FailureConverter = Converters(c)
}
