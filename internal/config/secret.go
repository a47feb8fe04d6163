package config

import (
	"crypto/sha256"
	"encoding/hex"
)

// Secret is a resolved credential. Every way of printing it (String,
// GoString, MarshalJSON, MarshalText) shows only a fingerprint, so a Secret
// that slips into a log line, an error or an API response leaks nothing.
type Secret struct {
	ref   string // how it was referenced: "literal", "env:NAME", "file:PATH" or "credential:NAME"
	value string
}

// NewSecret returns a Secret holding value, referenced as ref.
func NewSecret(ref, value string) Secret { return Secret{ref: ref, value: value} }

// Value returns the credential itself. Call it only where the key is sent upstream
// or compared; never to format it.
func (s Secret) Value() string { return s.value }

// Ref says where the secret came from, without its value.
func (s Secret) Ref() string { return s.ref }

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return s.value == "" }

// Fingerprint is the first 8 hex characters of the value's SHA-256: enough to
// tell keys apart in status output and to decide endpoint identity on reload.
func (s Secret) Fingerprint() string {
	if s.value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s.value))
	return hex.EncodeToString(sum[:4])
}

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string {
	if s.value == "" {
		return "[empty]"
	}
	return "[redacted sha256:" + s.Fingerprint() + "]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps encoders from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
