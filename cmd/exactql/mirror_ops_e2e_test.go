package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestMirrorReadyzAndMetrics (item 2): /readyz stays 200 and reports each
// feed (complete, rows, lag, a state code, never an error text); /metrics
// carries the runner's exactql_mirror_* series; the webhook endpoint is
// mounted outside caller authentication and refuses an unsigned body.
func TestMirrorReadyzAndMetrics(t *testing.T) {
	g := startGateway(t, mirrorEnv)
	waitMirror(t, g)
	resp, body := get(t, g.st.URL+"/readyz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz %d %s", resp.StatusCode, body)
	}
	var rz struct {
		Details struct {
			Mirror map[string]struct {
				Complete   bool   `json:"complete"`
				Rows       int    `json:"rows"`
				LagSeconds *int64 `json:"lag_seconds"`
				State      string `json:"state"`
			} `json:"mirror"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &rz); err != nil {
		t.Fatal(err)
	}
	if len(rz.Details.Mirror) != len(g.st.Feeds.Feeds()) {
		t.Fatalf("readyz reports %d feeds, want %d: %s", len(rz.Details.Mirror), len(g.st.Feeds.Feeds()), body)
	}
	if f := rz.Details.Mirror["items"]; !f.Complete || f.Rows == 0 || f.State != "ok" || f.LagSeconds == nil {
		t.Fatalf("items feed in readyz: %+v", f)
	}
	_, metrics := get(t, g.st.URL+"/metrics", nil)
	for _, m := range []string{`exactql_mirror_rows{feed="items"}`, `exactql_mirror_lag_seconds{feed="stock_positions"}`,
		`exactql_mirror_sync_calls_total{feed="accounts"}`, `exactql_mirror_last_success_timestamp{feed="items"}`,
		"exactql_mirror_projected_calls_per_day"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	hook, err := postRaw(g.st.URL+"/webhooks/exact", `{"Content":{"Topic":"Items"},"HashCode":"00"}`)
	if err != nil || hook != 401 {
		t.Fatalf("unsigned webhook: %d %v, want 401", hook, err)
	}
}

// postRaw posts body as JSON without credentials and returns the status.
func postRaw(url, body string) (int, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
