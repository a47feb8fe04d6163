package health

import (
	"encoding/json"
	"strings"
	"testing"
)

const testKey = "sk-ant-api03-verify-SECRETSECRETSECRET0123"

// TestCheckReply: a verify check is valid only when its code is in a text
// block; thinking blocks do not count, and neither does a code the model
// mangled.
func TestCheckReply(t *testing.T) {
	const code = "K7Q2XZ"
	tests := []struct {
		name, body, want string
	}{
		{"text with the code", `{"type":"message","content":[{"type":"text","text":"K7Q2XZ"}]}`, ""},
		{"code within a sentence", `{"type":"message","content":[{"type":"text","text":"Sure! The code is K7Q2XZ."}]}`, ""},
		{"thinking then text with the code", `{"type":"message","content":[
			{"type":"thinking","thinking":"The user wants the code back.","signature":"x"},
			{"type":"text","text":"K7Q2XZ"}]}`, ""},
		{"redacted thinking then text", `{"content":[{"type":"redacted_thinking","data":"abc"},{"type":"text","text":"K7Q2XZ"}]}`, ""},
		{"code only in thinking", `{"type":"message","content":[
			{"type":"thinking","thinking":"K7Q2XZ"},
			{"type":"text","text":"Done."}]}`, "invalid response"},
		{"wrong code", `{"type":"message","content":[{"type":"text","text":"K7Q2XY"}]}`, "invalid response"},
		{"code split by spaces", `{"type":"message","content":[{"type":"text","text":"K7Q 2XZ"}]}`, "invalid response"},
		{"code spelled out", `{"type":"message","content":[{"type":"text","text":"K 7 Q 2 X Z"}]}`, "invalid response"},
		{"lower case", `{"type":"message","content":[{"type":"text","text":"k7q2xz"}]}`, "invalid response"},
		{"code in a tool call", `{"type":"message","content":[{"type":"tool_use","id":"t","name":"echo","input":{"text":"K7Q2XZ"}}]}`, "invalid response"},
		{"empty content", `{"type":"message","content":[]}`, "invalid response: empty content"},
		{"no content", `{"type":"message"}`, "invalid response: empty content"},
		{"error object", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			"invalid response: error in a 200: overloaded_error: Overloaded"},
		{"error field alone", `{"error":{"type":"api_error","message":"upstream said no"}}`,
			"invalid response: error in a 200: api_error: upstream said no"},
		{"error echoing the key", `{"type":"error","error":{"type":"authentication_error","message":"bad key ` + testKey + `"}}`,
			"invalid response: error in a 200: authentication_error: bad key [redacted]"},
		{"html", `<html><body>502 Bad Gateway</body></html>`, "invalid response: not a JSON message"},
		{"empty body", ``, "invalid response: not a JSON message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkReply([]byte(tt.body), code, testKey); got != tt.want {
				t.Errorf("checkReply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckModels(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"a page", `{"data":[{"type":"model","id":"claude-haiku-4-5"}],"has_more":false}`, ""},
		{"an empty page", `{"data":[]}`, ""},
		{"no data", `{"models":[]}`, "invalid response: no data"},
		{"data not a list", `{"data":"none"}`, "invalid response: no data"},
		{"null data", `{"data":null}`, "invalid response: no data"},
		{"error object", `{"type":"error","error":{"type":"api_error","message":"x"}}`, "invalid response: error in a 200: api_error: x"},
		{"html", `<html></html>`, "invalid response: not JSON"},
	}
	for _, tt := range tests {
		if got := checkModels([]byte(tt.body), testKey); got != tt.want {
			t.Errorf("%s: checkModels = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := newCode()
		if len(c) != codeLen || strings.Trim(c, codeAlphabet) != "" {
			t.Fatalf("code %q: want %d characters of %s", c, codeLen, codeAlphabet)
		}
		seen[c] = true
	}
	if len(seen) < 995 {
		t.Errorf("%d distinct codes in 1000", len(seen))
	}
}

// TestVerifyBody: the request is a small, non-streaming Messages request
// to the configured model whose only user message holds the code.
func TestVerifyBody(t *testing.T) {
	var req struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		Stream    *bool  `json:"stream"`
		Messages  []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(verifyBody("claude-haiku-4-5", "ABC234"), &req); err != nil {
		t.Fatal(err)
	}
	if req.Model != "claude-haiku-4-5" || req.MaxTokens != verifyMaxTokens || req.Stream != nil ||
		len(req.Messages) != 1 || req.Messages[0].Role != "user" || !strings.Contains(req.Messages[0].Content, "ABC234") {
		t.Errorf("verify body %+v", req)
	}
	if verifyMaxTokens > 100 {
		t.Errorf("max_tokens %d: checks are meant to be cheap", verifyMaxTokens)
	}
}
