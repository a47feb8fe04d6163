package downstream

import (
	"context"
	"fmt"
	"strings"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

// TestSDK serves the fake Anthropic API to the official Go SDK, streaming
// and not, over one kept connection.
func TestSDK(t *testing.T) {
	r := newRig(t, Options{}, fakeupstream.New(fakeupstream.Options{}).ServeHTTP)
	c := anthropic.NewClient(
		option.WithBaseURL(r.url()),
		option.WithAPIKey("test-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(client(t)),
	)
	params := func(text string) anthropic.MessageNewParams {
		return anthropic.MessageNewParams{
			Model:     anthropic.Model("claude-sonnet-4-5"),
			MaxTokens: 64,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
		}
	}
	ctx := context.Background()
	msg, err := c.Messages.New(ctx, params("echo this back"))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Content[0].Text; !strings.Contains(got, "echo this back") {
		t.Errorf("reply %q", got)
	}
	stream := c.Messages.NewStreaming(ctx, params("stream this back"))
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if got := acc.Content[0].Text; !strings.Contains(got, "stream this back") || acc.StopReason == "" {
		t.Errorf("streamed reply %q, stop reason %q", got, acc.StopReason)
	}
	if n := strings.Count(fmt.Sprint(r.connStates()), "new"); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}
