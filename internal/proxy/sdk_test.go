package proxy_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/qcc-dev/qcc/internal/endpoint"
	"github.com/qcc-dev/qcc/internal/fakeupstream"
)

func sdkClient(r *rig) anthropic.Client {
	return anthropic.NewClient(
		option.WithBaseURL(r.proxy.URL),
		option.WithAPIKey("client-key-that-qccd-replaces"),
		option.WithMaxRetries(0), // qccd's failover is under test, not the SDK's retries
	)
}

func sdkParams(text string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model("claude-sonnet-4-5"),
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
}

// TestSDKThroughProxy uses the official Go SDK as a real client, streaming
// and not.
func TestSDKThroughProxy(t *testing.T) {
	r := newRig(t, ``, oneEndpoint)
	client := sdkClient(r)
	ctx := context.Background()

	msg, err := client.Messages.New(ctx, sdkParams("echo this back"))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Content[0].Text; !strings.Contains(got, "echo this back") {
		t.Errorf("non-streaming reply %q", got)
	}
	if msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 {
		t.Errorf("usage lost: %+v", msg.Usage)
	}

	stream := client.Messages.NewStreaming(ctx, sdkParams("stream this back"))
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Content[0].Text; !strings.Contains(got, "stream this back") {
		t.Errorf("streamed reply %q", got)
	}
	if acc.StopReason == "" || acc.Usage.OutputTokens == 0 {
		t.Errorf("stream incomplete: stop %q usage %+v", acc.StopReason, acc.Usage)
	}
}

// TestFailoverFromOverloadedPrimary is the core promise: with the primary
// answering 529, every request succeeds on the secondary, and the primary
// sees only its first failure and the half-open probes that test whether
// it is back.
func TestFailoverFromOverloadedPrimary(t *testing.T) {
	r := newRig(t, `cooldown_min = "20ms"
cooldown_max = "200ms"`, []string{
		`name = "primary"
base_url = "%s"
api_key = "%s"
priority = 1`,
		`name = "secondary"
base_url = "%s"
api_key = "%s"
priority = 2`,
	})
	r.ups[0].SetFault(fakeupstream.Fault{Status: 529})
	client := sdkClient(r)

	// One request first, alone, so that the primary's first failure is a
	// single one; concurrent first requests could all pick it before its
	// first 529 returns.
	if _, err := client.Messages.New(context.Background(), sdkParams("hi")); err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, err := client.Messages.New(context.Background(), sdkParams("hi"))
				errs <- err
				return
			}
			s := client.Messages.NewStreaming(context.Background(), sdkParams("hi"))
			for s.Next() {
			}
			errs <- s.Err()
		}()
		if i%10 == 9 {
			wg.Wait() // waves, so cool-downs run out and half-open probes happen
		}
	}
	wg.Wait()
	close(errs)
	if len(errs) != n-1 {
		t.Fatalf("%d results", len(errs))
	}
	for err := range errs {
		if err != nil {
			t.Fatalf("a request failed: %v", err)
		}
	}

	primary, secondary := r.ups[0].Stats().Requests, r.ups[1].Stats().Requests
	r.mu.Lock()
	cooldowns := 0
	for _, tr := range r.transitions {
		if tr.endpoint == "primary" && tr.To == endpoint.CoolingDown {
			cooldowns++
		}
	}
	r.mu.Unlock()
	t.Logf("primary saw %d requests (%d cool-downs), secondary served %d", primary, cooldowns, secondary)
	if secondary != n {
		t.Errorf("secondary served %d, want %d", secondary, n)
	}
	// Each request the primary saw either started a cool-down (the first)
	// or was the half-open probe that ended one and started the next.
	if primary != cooldowns {
		t.Errorf("primary saw %d requests but cooled down %d times: it got traffic beyond first failures and half-open probes", primary, cooldowns)
	}
	if primary > n/4 {
		t.Errorf("primary saw %d of %d requests", primary, n)
	}
}

// Test401UnderConcurrency: after the first 401, no new request picks the
// endpoint whose key was refused.
func Test401UnderConcurrency(t *testing.T) {
	r := newRig(t, `strategy = "round-robin"`, []string{
		"name = \"revoked\"\nbase_url = \"%s\"\napi_key = \"%s\"",
		"name = \"good\"\nbase_url = \"%s\"\napi_key = \"%s\"",
	})
	r.ups[0].SetFault(fakeupstream.Fault{Status: 401})
	client := sdkClient(r)

	wave := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := client.Messages.New(context.Background(), sdkParams("hi")); err != nil {
					t.Errorf("request failed: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	wave(20)
	if st := r.state("revoked"); st != endpoint.AuthFailed {
		t.Fatalf("revoked is %v", st)
	}
	seen := r.ups[0].Stats().Requests
	wave(50)
	if now := r.ups[0].Stats().Requests; now != seen {
		t.Errorf("revoked endpoint got %d new requests after its 401", now-seen)
	}
}
