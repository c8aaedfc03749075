package codec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/partneraccess/partneraccess/internal/codec"
)

func key(id string, b byte) codec.Key { return codec.Key{ID: id, Key: bytes.Repeat([]byte{b}, 32)} }

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEncryptsNamesTheKeyAndDecrypts(t *testing.T) {
	c, err := codec.New([]codec.Key{key("k1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	plain := payload(t, "solo@partner.example: Case 4711")
	enc, err := c.Encode([]*commonpb.Payload{plain})
	if err != nil {
		t.Fatal(err)
	}
	if string(enc[0].Metadata[codec.MetadataEncoding]) != codec.EncodingEncrypted || string(enc[0].Metadata[codec.MetadataKeyID]) != "k1" {
		t.Fatalf("metadata %v", enc[0].Metadata)
	}
	if bytes.Contains(enc[0].Data, []byte("solo@partner.example")) || len(enc[0].Metadata) != 2 {
		t.Fatal("the plain text, or its metadata, is visible in the encrypted payload")
	}
	again, _ := c.Encode([]*commonpb.Payload{plain})
	if bytes.Equal(again[0].Data, enc[0].Data) {
		t.Fatal("two encryptions of one payload are equal: the nonce is not fresh")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &s); err != nil || s != "solo@partner.example: Case 4711" {
		t.Fatalf("decoded %q %v", s, err)
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	c, _ := codec.New([]codec.Key{key("k1", 1)})
	plain := payload(t, 42)
	dec, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || dec[0] != plain {
		t.Fatalf("a plain payload (recorded before encryption) was changed: %v", err)
	}
}

func TestRotationAndAnUnknownKey(t *testing.T) {
	old, _ := codec.New([]codec.Key{key("old", 1)})
	enc, _ := old.Encode([]*commonpb.Payload{payload(t, "x")})
	rotated, err := codec.New([]codec.Key{key("new", 2), key("old", 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.Decode(enc); err != nil {
		t.Fatalf("the old key no longer decrypts after rotation: %v", err)
	}
	if fresh, _ := rotated.Encode([]*commonpb.Payload{payload(t, "y")}); string(fresh[0].Metadata[codec.MetadataKeyID]) != "new" {
		t.Fatal("the first key does not encrypt")
	}
	newOnly, _ := codec.New([]codec.Key{key("new", 2)})
	_, err = newOnly.Decode(enc)
	var unknown *codec.UnknownKeyError
	if !errors.As(err, &unknown) || unknown.ID != "old" || !strings.Contains(err.Error(), `"old"`) {
		t.Fatalf("decode under a dropped key: %v, want an error naming it", err)
	}
	impostor, _ := codec.New([]codec.Key{key("old", 9)})
	if _, err := impostor.Decode(enc); err == nil {
		t.Fatal("another key with the same ID decrypted")
	}
}

func TestParseKeysAndTheDerivedKey(t *testing.T) {
	k := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	keys, err := codec.ParseKeys("2026-12:" + k + ", 2026-06:" + k)
	if err != nil || len(keys) != 2 || keys[0].ID != "2026-12" || keys[1].ID != "2026-06" {
		t.Fatalf("keys %v %v", keys, err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))
	for _, bad := range []string{"", "nokey", "k1:" + short, "k1:not base64!", "bad id:" + k} {
		_, err := codec.ParseKeys(bad)
		if err == nil {
			t.Fatalf("%q accepted", bad)
		}
		if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), k) {
			t.Fatalf("the error shows the key: %v", err)
		}
	}
	if _, err := codec.New([]codec.Key{key("a", 1), key("a", 2)}); err == nil {
		t.Fatal("two keys with one ID accepted")
	}
	a, _ := codec.DerivedKey([]byte("secret one, at least thirty-two bytes"))
	b, _ := codec.DerivedKey([]byte("secret one, at least thirty-two bytes"))
	c, _ := codec.DerivedKey([]byte("secret two, at least thirty-two bytes"))
	if a.ID != b.ID || !bytes.Equal(a.Key, b.Key) || a.ID == c.ID || bytes.Equal(a.Key, c.Key) || len(a.Key) != 32 {
		t.Fatalf("derived keys: %s %s %s", a.ID, b.ID, c.ID)
	}
}
