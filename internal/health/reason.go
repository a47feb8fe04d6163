package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// maxMessage bounds the upstream's own words kept in a reason.
const maxMessage = 120

// errorReason describes a non-200 answer to a check: the status, the
// error type and a redacted, truncated message when the body is an
// Anthropic error, else the status text. An upstream's message may echo
// parts of the request, and a relay's may quote the key; neither leaves
// through here.
func errorReason(status int, body []byte, key string) string {
	r := strconv.Itoa(status)
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Type != "" {
		r += " " + redact(e.Error.Type, key)
		if msg := redact(e.Error.Message, key); msg != "" {
			r += ": " + msg
		}
		return r
	}
	if t := http.StatusText(status); t != "" {
		r += " " + t
	}
	return r
}

// redact makes an upstream's words fit for a log line and the status
// output: the endpoint's key and anything that looks like a credential
// become [redacted], control characters become spaces, and the result is
// cut to maxMessage bytes.
func redact(s, key string) string {
	if len(key) >= 8 {
		s = strings.ReplaceAll(s, key, "[redacted]")
	}
	var b strings.Builder
	for tok := range tokens(s) {
		switch {
		case tok.word && secretLike(tok.text):
			b.WriteString("[redacted]")
		case tok.word:
			b.WriteString(tok.text)
		default:
			for _, r := range tok.text {
				if r < ' ' || r == 0x7f {
					r = ' '
				}
				b.WriteRune(r)
			}
		}
		if b.Len() > maxMessage {
			break
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8Start(out[cut]) {
			cut--
		}
		out = strings.TrimRight(out[:cut], " ") + "…"
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// token is a run of word characters (those keys are made of) or of
// anything else.
type token struct {
	text string
	word bool
}

// tokens splits s into alternating runs of word and other characters.
func tokens(s string) func(yield func(token) bool) {
	return func(yield func(token) bool) {
		for len(s) > 0 {
			w := isWord(s[0])
			i := 1
			for i < len(s) && isWord(s[i]) == w {
				i++
			}
			if !yield(token{s[:i], w}) {
				return
			}
			s = s[i:]
		}
	}
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '='
}

// secretLike tells keys and tokens from the words of an error message:
// Anthropic keys start with sk-, and other credentials are long or mix
// cases and digits the way model names and ids of the API do not.
func secretLike(w string) bool {
	if strings.HasPrefix(w, "sk-") && len(w) > 6 {
		return true
	}
	if len(w) >= 40 {
		return true
	}
	var upper, lower, digit bool
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	return len(w) >= 20 && upper && lower && digit
}

// describe turns a transport error into a short phrase. It names the kind
// of failure, never the URL, which may carry more than the operator meant
// to show.
func describe(ctx context.Context, err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.As(err, &dnsErr):
		return "dns lookup failed"
	case errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &certErr):
		return "tls certificate not accepted"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport error"
}
