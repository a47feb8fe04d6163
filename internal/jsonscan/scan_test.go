package jsonscan

import "testing"

func TestMemberAndField(t *testing.T) {
	tests := []struct {
		doc, name string
		member    string // Member's result; "<nil>" for nil
		field     string // Field's result
	}{
		{`{"a":1,"b":"x"}`, "b", `"x"`, `"x"`},
		{` { "a" : [1,{"b":2}] , "b" : {"c":"}"} } `, "b", `{"c":"}"}`, `{"c":"}"}`},
		{`{"a":1,"a":2}`, "a", "2", "2"},
		{`{"A":1}`, "a", "<nil>", "1"},
		{`{"a":1,"A":2}`, "a", "1", "2"},
		{`{"\u0061":"esc"}`, "a", `"esc"`, `"esc"`},
		{`{"s":"a\"b\\","a":true}`, "a", "true", "true"},
		{`{}`, "a", "<nil>", "<nil>"},
		{`[{"a":1}]`, "a", "<nil>", "<nil>"},
		{`{"a":1`, "a", "<nil>", "<nil>"},
		{`{"a":"unterminated}`, "a", "<nil>", "<nil>"},
		{``, "a", "<nil>", "<nil>"},
	}
	show := func(b []byte) string {
		if b == nil {
			return "<nil>"
		}
		return string(b)
	}
	for _, tt := range tests {
		if got := show(Member([]byte(tt.doc), tt.name)); got != tt.member {
			t.Errorf("Member(%s, %q) = %s, want %s", tt.doc, tt.name, got, tt.member)
		}
		if got := show(Field([]byte(tt.doc), tt.name)); got != tt.field {
			t.Errorf("Field(%s, %q) = %s, want %s", tt.doc, tt.name, got, tt.field)
		}
	}
}

func TestScalars(t *testing.T) {
	for _, tt := range []struct {
		raw    string
		str    string
		strOK  bool
		n      int64
		intOK  bool
		isNull bool
	}{
		{raw: `"plain"`, str: "plain", strOK: true},
		{raw: `"a\nb"`, str: "a\nb", strOK: true},
		{raw: "\"\xff\"", str: "\ufffd", strOK: true},
		{raw: `""`, str: "", strOK: true},
		{raw: `42`, n: 42, intOK: true},
		{raw: `-0`, n: 0, intOK: true},
		{raw: `1.0`},
		{raw: `1e3`},
		{raw: `99999999999999999999`},
		{raw: `"7"`, str: "7", strOK: true},
		{raw: `null`, isNull: true},
		{raw: " null\n", isNull: true},
		{raw: `nul`},
	} {
		s, ok := String([]byte(tt.raw))
		if string(s) != tt.str || ok != tt.strOK {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tt.raw, s, ok, tt.str, tt.strOK)
		}
		n, ok := Int64([]byte(tt.raw))
		if n != tt.n || ok != tt.intOK {
			t.Errorf("Int64(%s) = %d, %v; want %d, %v", tt.raw, n, ok, tt.n, tt.intOK)
		}
		if got := IsNull([]byte(tt.raw)); got != tt.isNull {
			t.Errorf("IsNull(%s) = %v", tt.raw, got)
		}
	}
}

func TestMembersDoesNotAllocate(t *testing.T) {
	doc := []byte(`{"type":"message","usage":{"input_tokens":25,"output_tokens":8}}`)
	n := testing.AllocsPerRun(100, func() {
		Members(doc, func(name, value []byte) { _ = NameIs(name, "usage", true) })
	})
	if n != 0 {
		t.Errorf("Members allocates %.1f times", n)
	}
}
