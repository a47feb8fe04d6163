package fakeupstream

import (
	"errors"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// The official SDK is the judge of whether the fake speaks the real API:
// these tests run it directly against the fake.

func sdkClient(t *testing.T, fake *Server, key string) anthropic.Client {
	t.Helper()
	ts := serve(t, fake)
	return anthropic.NewClient(
		option.WithBaseURL(ts.URL),
		option.WithAPIKey(key),
		option.WithMaxRetries(0),
	)
}

func sdkParams(question string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(question))},
	}
}

func TestSDKStreamAccumulates(t *testing.T) {
	fake := New(Options{Events: 7, APIKey: "sk-ant-test", CacheReadTokens: 11, CacheCreationTokens: 3})
	client := sdkClient(t, fake, "sk-ant-test")

	stream := client.Messages.NewStreaming(t.Context(), sdkParams("Reply with the code Q9-ZZ"))
	var msg anthropic.Message
	events := 0
	for stream.Next() {
		events++
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatalf("event %d: the SDK rejects it: %v", events, err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	// The SDK swallows ping: 7 deltas plus start, block start and stop,
	// message delta and stop.
	if events != 12 {
		t.Errorf("SDK saw %d events, want 12", events)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Reply with the code Q9-ZZ" {
		t.Errorf("content %+v, want the question echoed", msg.Content)
	}
	if msg.StopReason != anthropic.StopReasonEndTurn || msg.Model != "claude-sonnet-4-5" || msg.Role != "assistant" {
		t.Errorf("stop %q model %q role %q", msg.StopReason, msg.Model, msg.Role)
	}
	u := msg.Usage
	if u.InputTokens != 25 || u.OutputTokens != 7 || u.CacheReadInputTokens != 11 || u.CacheCreationInputTokens != 3 {
		t.Errorf("usage %+v", u)
	}
	if st := fake.Stats(); st.StreamsCompleted != 1 {
		t.Errorf("fake completed %d streams, want 1", st.StreamsCompleted)
	}
}

func TestSDKMessage(t *testing.T) {
	client := sdkClient(t, New(Options{}), "k")
	msg, err := client.Messages.New(t.Context(), sdkParams("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "hello" || msg.Usage.OutputTokens != 10 {
		t.Errorf("message %+v", msg)
	}
}

func TestSDKCountTokensAndModels(t *testing.T) {
	client := sdkClient(t, New(Options{InputTokens: 77}), "k")
	count, err := client.Messages.CountTokens(t.Context(), anthropic.MessageCountTokensParams{
		Model:    "claude-sonnet-4-5",
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if err != nil || count.InputTokens != 77 {
		t.Errorf("count_tokens: %+v, %v", count, err)
	}
	page, err := client.Models.List(t.Context(), anthropic.ModelListParams{})
	if err != nil || len(page.Data) != len(defaultModels) {
		t.Errorf("models: %+v, %v", page, err)
	}
}

func TestSDKSeesErrorsAsAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		key    string
		status int
		typ    string
	}{
		{"overloaded", Fault{Status: 529}, "k", 529, "overloaded_error"},
		{"rate limited", Fault{Status: 429, RetryAfter: "1"}, "k", 429, "rate_limit_error"},
		{"bad key", Fault{}, "wrong", 401, "authentication_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := New(Options{APIKey: "k"})
			fake.SetFault(tt.fault)
			client := sdkClient(t, fake, tt.key)
			_, err := client.Messages.New(t.Context(), sdkParams("hi"))
			apiErr, ok := errors.AsType[*anthropic.Error](err)
			if !ok {
				t.Fatalf("error %v is not an *anthropic.Error", err)
			}
			if apiErr.StatusCode != tt.status || string(apiErr.Type()) != tt.typ {
				t.Errorf("status %d type %q, want %d %q", apiErr.StatusCode, apiErr.Type(), tt.status, tt.typ)
			}
		})
	}
}

func TestSDKSeesMidStreamErrorEvent(t *testing.T) {
	fake := New(Options{})
	fake.SetFault(Fault{ErrorAfterEvents: 5})
	client := sdkClient(t, fake, "k")
	stream := client.Messages.NewStreaming(t.Context(), sdkParams("hi"))
	for stream.Next() {
	}
	apiErr, ok := errors.AsType[*anthropic.Error](stream.Err())
	if !ok || string(apiErr.Type()) != "overloaded_error" {
		t.Errorf("stream error %v, want an overloaded_error API error", stream.Err())
	}
}
