package affinity

import (
	"github.com/qcc-dev/qcc/internal/testfixture"

	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// fixture is the real Claude Code request in testdata, as it comes off the
// wire: the body compact, in the order Claude Code wrote it.
type fixture struct {
	header   http.Header
	indented []byte // the body indented, as a person would save it
	body     []byte // the same, compact: what Claude Code sends
	userID   string // its metadata.user_id
	// prefix and suffix split body just before the top-level "metadata"
	// member, so tests can place members before it and decoys in it.
	prefix, suffix []byte
}

func loadFixture(t testing.TB) fixture {
	t.Helper()
	fx := testfixture.ClaudeCode()
	f := fixture{header: fx.Header, body: fx.Body}
	var indented bytes.Buffer
	if err := json.Indent(&indented, fx.Body, "", "  "); err != nil {
		t.Fatal(err)
	}
	f.indented = indented.Bytes()
	var decoded struct {
		Metadata struct {
			UserID string `json:"user_id"`
		}
	}
	if err := json.Unmarshal(f.body, &decoded); err != nil || decoded.Metadata.UserID == "" {
		t.Fatalf("fixture has no metadata.user_id: %v", err)
	}
	f.userID = decoded.Metadata.UserID
	i := bytes.Index(f.body, []byte(`"metadata":`))
	if i < 0 || bytes.Count(f.body, []byte(`"metadata"`)) != 1 {
		t.Fatal(`fixture body should hold "metadata" exactly once`)
	}
	f.prefix, f.suffix = f.body[:i], f.body[i:]
	return f
}

// with returns a copy of the fixture body with the first old in the part
// before the real metadata replaced by new, and extra inserted as top-level
// members just before the real metadata.
func (f fixture) with(old, new, extra string) []byte {
	var b []byte
	if old == "" {
		b = append(b, f.prefix...)
	} else {
		if !bytes.Contains(f.prefix, []byte(old)) {
			panic("fixture has no " + old)
		}
		b = bytes.Replace(f.prefix, []byte(old), []byte(new), 1)
	}
	b = append(b, extra...)
	return append(b, f.suffix...)
}

func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// decoys returns bodies built on the fixture that hold a "metadata" that is
// not the top-level one; Key must find the real user_id in each.
func (f fixture) decoys() map[string][]byte {
	const fake = `"metadata":{"user_id":"decoy"}`
	return map[string][]byte{
		"in a tool's input_schema":  f.with(`"input_schema":{`, `"input_schema":{`+fake+`,`, ""),
		"in message content":        f.with(`{"type":"text","text":`, `{"type":"text",`+fake+`,"text":`, ""),
		"in a string value":         f.with(`"text":"`, `"text":"\"metadata\":{\"user_id\":\"decoy\"} `, ""),
		"string key named metadata": f.with(`"text":"`, `"text":"metadata","x":"`, ""),
		// A backslash escaped just before a closing quote: a scanner that
		// takes every \" for an escaped quote runs past the string's end.
		"escaped quotes and backslashes": f.with("", "",
			`"x-note":`+quote(`he said "metadata": {"user_id": "decoy"} in C:\dir\`)+`,`+
				`"x-path":`+quote(`\\`)+`,`+
				`"x-odd":`+quote(`\"`)+`,`),
		"string of quotes and backslashes": f.with("", "", `"x":`+quote(strings.Repeat(`\"\\"`, 500))+`,`),
		"nested object before":             f.with("", "", `"x":{"a":[{"metadata":{"user_id":"decoy"}}],"metadata":{"user_id":"decoy"}},`),
		"array of metadata before":         f.with("", "", `"x":[`+fake[len(`"metadata":`):]+`,"metadata"],`),
		"all together": f.with(`"input_schema":{`, `"input_schema":{`+fake+`,`,
			`"x":`+quote(`"metadata":{"user_id":"decoy"}\`)+`,"y":{`+fake+`},`),
	}
}

func TestKeyFromHeader(t *testing.T) {
	f := loadFixture(t)
	h := f.header.Clone()
	if got := Key(h, f.body); string(got) != "01a02ab2-aa98-4a91-b72d-062805564abb" {
		t.Errorf("Key with the session header = %q", got)
	}
	// The header wins even over a body with another user_id.
	if got := Key(h, []byte(`{"metadata":{"user_id":"other"}}`)); string(got) != h.Get(SessionHeader) {
		t.Errorf("Key = %q, want the header's", got)
	}
	if got := Key(h, nil); string(got) != h.Get(SessionHeader) {
		t.Errorf("Key without a body = %q, want the header's", got)
	}
	h.Set(SessionHeader, "")
	if got := Key(h, f.body); string(got) != f.userID {
		t.Errorf("Key with an empty session header = %q, want the body's user_id", got)
	}
}

func TestKeyFixtureBody(t *testing.T) {
	f := loadFixture(t)
	h := f.header.Clone()
	h.Del(SessionHeader)
	for name, body := range map[string][]byte{"compact": f.body, "indented": f.indented} {
		got := Key(h, body)
		if string(got) != f.userID {
			t.Errorf("%s: Key = %q, want %q", name, got, f.userID)
		}
		// Claude Code's user_id is itself JSON holding the session id.
		var inner struct {
			SessionID string `json:"session_id"`
		}
		if err := json.Unmarshal(got, &inner); err != nil || inner.SessionID != f.header.Get(SessionHeader) {
			t.Errorf("%s: user_id %q holds session_id %q (%v), want the header's %q", name, got, inner.SessionID, err, f.header.Get(SessionHeader))
		}
	}
}

func TestKeyDecoys(t *testing.T) {
	f := loadFixture(t)
	for name, body := range f.decoys() {
		t.Run(name, func(t *testing.T) {
			if !json.Valid(body) {
				t.Fatalf("test body is not JSON: %.200q", body)
			}
			if got := Key(http.Header{}, body); string(got) != f.userID {
				t.Errorf("Key = %q, want %q", got, f.userID)
			}
		})
	}
	t.Run("only nested metadata", func(t *testing.T) {
		body := f.with(`"input_schema":{`, `"input_schema":{"metadata":{"user_id":"decoy"},`, "")
		body = append(bytes.TrimSuffix(body[:len(f.prefix)+len(`,"metadata":{"user_id":"decoy"}`)], []byte(",")), '}')
		if !json.Valid(body) {
			t.Fatalf("test body is not JSON: ...%q", body[len(body)-100:])
		}
		if got := Key(http.Header{}, body); got != nil {
			t.Errorf("Key = %q, want nil", got)
		}
	})
}

func TestKeyBody(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // "" for nil
	}{
		{"plain", `{"metadata":{"user_id":"user_abc"}}`, "user_abc"},
		{"other members", `{"model":"m","metadata":{"x":1,"user_id":"u","y":[true]},"stream":false}`, "u"},
		{"spaces", ` { "metadata" : { "user_id" : "u" } } `, "u"},
		{"tabs and newlines", "{\n\t\"metadata\"\r\n:\t{\n\"user_id\"\n:\n\"u\"\n}\n}\n", "u"},
		{"escapes", `{"metadata":{"user_id":"caf\u00e9 \"q\" \\ \/"}}`, `café "q" \ /`},
		{"surrogate pair", `{"metadata":{"user_id":"\ud83d\ude00"}}`, "😀"},
		{"utf-8", `{"metadata":{"user_id":"ユーザー"}}`, "ユーザー"},
		{"not utf-8", "{\"metadata\":{\"user_id\":\"a\xffb\xe3\"}}", "a\ufffdb\ufffd"},
		{"escaped member names", `{"metad\u0061ta":{"user\u005fid":"u"}}`, "u"},
		{"later duplicate wins", `{"metadata":{"user_id":"a"},"metadata":{"user_id":"b"}}`, "b"},
		{"later duplicate user_id wins", `{"metadata":{"user_id":"a","user_id":"b"}}`, "b"},
		{"later duplicate not an object", `{"metadata":{"user_id":"a"},"metadata":null}`, ""},
		{"numbers and literals before", `{"a":-1.5e+3,"b":true,"c":null,"d":[],"e":{},"metadata":{"user_id":"u"}}`, "u"},
		{"empty user_id", `{"metadata":{"user_id":""}}`, ""},
		{"no metadata", `{"model":"m"}`, ""},
		{"no user_id", `{"metadata":{}}`, ""},
		{"user_id a number", `{"metadata":{"user_id":42}}`, ""},
		{"user_id null", `{"metadata":{"user_id":null}}`, ""},
		{"user_id an object", `{"metadata":{"user_id":{"id":"u"}}}`, ""},
		{"metadata null", `{"metadata":null}`, ""},
		{"metadata a string", `{"metadata":"{\"user_id\":\"u\"}"}`, ""},
		{"metadata an array", `{"metadata":[{"user_id":"u"}]}`, ""},
		{"names are case-sensitive", `{"Metadata":{"user_id":"u"},"metadata":{"User_ID":"v"}}`, ""},
		{"not an object", `[{"metadata":{"user_id":"u"}}]`, ""},
		{"a string", `"metadata"`, ""},
		{"empty object", `{}`, ""},
		{"empty", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body != "" && !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body is not JSON: %s", tt.body)
			}
			got := Key(http.Header{}, []byte(tt.body))
			if tt.want == "" && got != nil {
				t.Errorf("Key = %q, want nil", got)
			} else if string(got) != tt.want {
				t.Errorf("Key = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeyMalformed(t *testing.T) {
	for _, body := range []string{
		`{"metadata":{"user_id":"u"}`,
		`{"metadata":{"user_id":"u"`,
		`{"metadata":{"user_id":"u`,
		`{"metadata":{"user_id":`,
		`{"metadata" {"user_id":"u"}}`,
		`{"metadata":{"user_id" "u"}}`,
		`{"a":1 "metadata":{"user_id":"u"}}`,
		`{"a":1,,"metadata":{"user_id":"u"}}`,
		`{"a":1,"metadata":{"user_id":"u"},}`,
		`{,"metadata":{"user_id":"u"}}`,
		`{"a":"unterminated,"metadata":{"user_id":"u"}}`,
		`{"a":[1,2,"metadata":{"user_id":"u"}}`,
		`{"a":{"b":{"c":"metadata":{"user_id":"u"}}`,
		`{metadata:{"user_id":"u"}}`,
		`{"metadata":{user_id:"u"}}`,
		`{"metadata":{"user_id":"\u12"}}`,
		`{"metadata":{"user_id":"\x"}}`,
		`{"a":,"metadata":{"user_id":"u"}}`,
		`{"a"`, `{"`, `{`, `"`, `}`, `[`, "\x00", "\xff\xfe{", "  \n",
		`{"a":"\\\"}`,
		`{"metadata":{"user_id":"u"}]`,
	} {
		if got := Key(http.Header{}, []byte(body)); got != nil {
			t.Errorf("Key(%q) = %q, want nil", body, got)
		}
	}
}

// TestKeyTruncated cuts the real request short everywhere around its
// metadata, and at a stride elsewhere: no prefix of it names a session.
func TestKeyTruncated(t *testing.T) {
	f := loadFixture(t)
	meta := len(f.prefix)
	for n := 0; n < len(f.body); n++ {
		if n%97 != 0 && n < meta-100 {
			continue
		}
		if got := Key(http.Header{}, f.body[:n]); got != nil {
			t.Fatalf("Key of the first %d of %d bytes = %q, want nil", n, len(f.body), got)
		}
	}
}

// decodedUserID is the oracle: the top-level metadata.user_id as
// encoding/json sees it. valid is false when encoding/json cannot decode the
// body as an object; ok says whether it holds a non-empty user_id.
func decodedUserID(body []byte) (userID string, ok, valid bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return "", false, false
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(top["metadata"], &meta) != nil {
		return "", false, true
	}
	raw := meta["user_id"]
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &userID) != nil {
		return "", false, true
	}
	return userID, userID != "", true
}

func FuzzKey(f *testing.F) {
	fx := loadFixture(f)
	f.Add(fx.body)
	f.Add(fx.indented)
	for _, body := range fx.decoys() {
		f.Add(body)
	}
	for _, s := range []string{
		`{"metadata":{"user_id":"u"}}`,
		`{"metadata":{"user_id":"a"},"metadata":{"user_id":"b"}}`,
		`{"metad\u0061ta":{"user_id":"\u00e9"}}`,
		`{"a":"\\","metadata":{"user_id":"x\"y"}}`,
		`{"a":[{"metadata":{"user_id":"d"}}],"metadata":{"user_id":"u"}}`,
		`{"metadata":{"user_id":"u"}`,
		` {"metadata" : {"user_id" : ""}} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := Key(http.Header{}, body)
		if got != nil && len(got) == 0 {
			t.Fatalf("Key = empty non-nil key")
		}
		want, ok, valid := decodedUserID(body)
		switch {
		case !valid:
			// Key need not reject every malformed body: it walks only the
			// structure it needs. It must not panic, which it has not.
		case !ok && got != nil:
			t.Fatalf("Key = %q, but encoding/json finds no metadata.user_id in %q", got, body)
		case ok && string(got) != want:
			t.Fatalf("Key = %q, encoding/json finds metadata.user_id %q in %q", got, want, body)
		}
	})
}

func TestKeyAllocations(t *testing.T) {
	f := loadFixture(t)
	h := http.Header{}
	plain := bytes.Replace(f.suffix, []byte(quote(f.userID)), []byte(`"user_0b8e47d383a022ae_session_01a02ab2"`), 1)
	body := append(append([]byte(nil), f.prefix...), plain...)
	if string(Key(h, body)) != "user_0b8e47d383a022ae_session_01a02ab2" {
		t.Fatal("test body has lost its user_id")
	}
	if n := testing.AllocsPerRun(100, func() { Key(h, body) }); n != 0 {
		t.Errorf("Key on a body whose user_id has no escapes allocates %.1f times", n)
	}
}

func BenchmarkKey(b *testing.B) {
	f := loadFixture(b)
	noHeader := f.header.Clone()
	noHeader.Del(SessionHeader)
	plainSuffix := bytes.Replace(f.suffix, []byte(quote(f.userID)), []byte(`"user_0b8e47d383a022ae_session_01a02ab2"`), 1)
	plain := append(append([]byte(nil), f.prefix...), plainSuffix...)
	for _, bc := range []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"header", f.header, f.body},
		{"fixture body", noHeader, f.body},
		{"plain user_id", noHeader, plain},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.h.Get(SessionHeader) == "" {
				b.SetBytes(int64(len(bc.body))) // the scan's throughput
			}
			b.ReportAllocs()
			for b.Loop() {
				if Key(bc.h, bc.body) == nil {
					b.Fatal("no key")
				}
			}
		})
	}
}

// BenchmarkDecode is what Key saves: decoding the body to read one field.
func BenchmarkDecode(b *testing.B) {
	f := loadFixture(b)
	b.SetBytes(int64(len(f.body)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Metadata struct {
				UserID string `json:"user_id"`
			}
		}
		if err := json.Unmarshal(f.body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
