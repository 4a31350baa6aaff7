package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRunServesAndShutsDown runs the real program (run) in sandbox mode on
// 127.0.0.1:0, asks it a GraphQL question over HTTP and shuts it down
// cleanly. Its banner names the embedded sandbox's URL on a line
// "Exact sandbox:    http://127.0.0.1:…" (.ci/run reads it for
// EXACTQL_SANDBOX_URL), and that URL answers the sandbox's control API.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{"EXACTQL_ADDR": "127.0.0.1:0", "EXACTQL_DATA_DIR": t.TempDir(),
			"EXACTQL_LOG_LEVEL": "error", "EXACTQL_SANDBOX_ITEMS": "150", "EXACTQL_SANDBOX_CUSTOMERS": "20"}), pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	endpoint, sandboxURL := "", ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "GraphQL endpoint: "); ok {
			endpoint = u
		}
		if rest, ok := strings.CutPrefix(sc.Text(), "Exact sandbox:"); ok {
			sandboxURL, _, _ = strings.Cut(strings.TrimSpace(rest), " ")
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if endpoint == "" {
		cancel()
		t.Fatalf("no endpoint printed: %v", <-done)
	}
	if !strings.HasPrefix(sandboxURL, "http://127.0.0.1:") {
		t.Errorf("banner's Exact sandbox URL %q, want http://127.0.0.1:<port>", sandboxURL)
	} else if r, err := http.Get(sandboxURL + "/sandbox/faults"); err != nil {
		t.Errorf("sandbox control API: %v", err)
	} else {
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("GET %s/sandbox/faults: %d", sandboxURL, r.StatusCode)
		}
	}
	resp, err := http.Post(endpoint, "application/json", strings.NewReader(`{"query":"{ warehouses { code isMain } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"isMain":true`) {
		t.Errorf("answer %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/demo/tokens", "/"} {
		r, err := http.Get(strings.TrimSuffix(endpoint, "/graphql") + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, r.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after shutdown", err)
	}
}
