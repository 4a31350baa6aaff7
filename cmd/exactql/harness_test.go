package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
)

// gateway is a running exactql in sandbox mode for a test.
type gateway struct {
	t  *testing.T
	st started
}

// startGateway runs the real wiring (serve) on 127.0.0.1:0 against a fresh
// in-process sandbox on the real clock and stops it when the test ends.
func startGateway(t *testing.T, env map[string]string) *gateway {
	t.Helper()
	return startGatewayClock(t, env, nil)
}

// token returns the demo token of the buyer with rule.
func (g *gateway) token(rule string) string {
	for _, d := range g.st.DemoTokens {
		if d.Rule == rule {
			return d.Token
		}
	}
	g.t.Fatalf("no demo buyer with rule %s", rule)
	return ""
}

// callLog lists the sandbox's API calls (endpoint and query) for failure messages.
func (g *gateway) callLog() string {
	var b strings.Builder
	for _, c := range g.st.Sandbox.Calls() {
		if c.Kind == sandbox.KindAPI {
			q := c.Query
			if len(q) > 160 {
				q = q[:160] + "…"
			}
			b.WriteString(fmt.Sprintf("\n  %s %s %d %s", c.Method, c.Endpoint, c.Status, q))
		}
	}
	return b.String()
}

// apiCalls counts the Exact API calls the sandbox has seen (token calls not counted).
func (g *gateway) apiCalls() int {
	return g.st.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions map[string]any  `json:"extensions"`
	status     int
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// query posts a GraphQL request with an optional bearer token.
func (g *gateway) query(token, q string, vars map[string]any) gqlResponse {
	g.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, g.st.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	var out gqlResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		g.t.Fatalf("decoding %q: %v", raw, err)
	}
	out.status = resp.StatusCode
	return out
}

// mustQuery fails the test on GraphQL errors and decodes data into v.
func (g *gateway) mustQuery(token, q string, vars map[string]any, v any) {
	g.t.Helper()
	r := g.query(token, q, vars)
	if len(r.Errors) > 0 {
		g.t.Fatalf("query errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		g.t.Fatalf("decoding data: %v", err)
	}
}

func errorCode(r gqlResponse) string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

func testLog(t *testing.T) io.Writer { return tlog{t} }
