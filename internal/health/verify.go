package health

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
)

// verifyMaxTokens bounds a verify check's reply: the code is a few tokens,
// and a model that adds a polite sentence still fits.
const verifyMaxTokens = 64

// codeAlphabet has no 0/O or 1/I, which a model might "correct".
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// codeLen is the length of a verify check's code: 32^6 is about a
// billion, far beyond what a relay could guess or cache.
const codeLen = 6

// newCode returns a fresh random code for one verify check.
func newCode() string {
	var b [codeLen]byte
	for i := range b {
		b[i] = codeAlphabet[rand.N(len(codeAlphabet))]
	}
	return string(b[:])
}

// verifyBody is the Messages request of a verify check: a real, small,
// non-streaming request that only a working model answers correctly.
func verifyBody(model, code string) []byte {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	b, err := json.Marshal(struct {
		Model     string    `json:"model"`
		MaxTokens int       `json:"max_tokens"`
		Messages  []message `json:"messages"`
	}{
		Model:     model,
		MaxTokens: verifyMaxTokens,
		Messages: []message{{
			Role:    "user",
			Content: "This is an automated health check. Reply with this code and nothing else: " + code,
		}},
	})
	if err != nil {
		panic("health: marshal verify body: " + err.Error()) // cannot happen: strings only
	}
	return b
}

// reply is the part of a Messages reply, or of an error object sent with a
// 200, that checks read.
type reply struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// checkReply judges a verify check's 200: it is valid only when the code
// appears in a text block. Thinking blocks are skipped, since a model may
// think the code without answering it. It returns why the reply is not
// valid, or "".
func checkReply(body []byte, code, key string) string {
	var r reply
	if err := json.Unmarshal(body, &r); err != nil {
		return "invalid response: not a JSON message"
	}
	if why := errorIn200(r, key); why != "" {
		return why
	}
	if len(r.Content) == 0 {
		return "invalid response: empty content"
	}
	for _, b := range r.Content {
		if b.Type == "text" && strings.Contains(b.Text, code) {
			return ""
		}
	}
	return "invalid response"
}

// checkModels judges a models check's 200: a JSON object with a data
// array.
func checkModels(body []byte, key string) string {
	var page struct {
		reply
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return "invalid response: not JSON"
	}
	if why := errorIn200(page.reply, key); why != "" {
		return why
	}
	if len(page.Data) == 0 || page.Data[0] != '[' {
		return "invalid response: no data"
	}
	return ""
}

// errorIn200 describes an error object that came with a 200, as some relays
// send when their own upstream failed.
func errorIn200(r reply, key string) string {
	if r.Type != "error" && r.Error == nil {
		return ""
	}
	why := "invalid response: error in a 200"
	if r.Error != nil && r.Error.Type != "" {
		why += ": " + redact(r.Error.Type, key)
		if msg := redact(r.Error.Message, key); msg != "" {
			why += ": " + msg
		}
	}
	return why
}
