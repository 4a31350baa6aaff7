package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTransportStatusAndShape checks the GraphQL-over-HTTP rules of
// httpTransport: request errors are 200 under application/json and 400
// under application/graphql-response+json, answers to them carry no "data"
// entry, malformed requests are 400 under both, mutations over GET are 405.
func TestTransportStatusAndShape(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	const gqlResp = "application/graphql-response+json"
	postRaw := func(body, accept string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "application/json")
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		return r
	}
	getQ := func(v url.Values, accept string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/graphql?"+v.Encode(), nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string // first error's code, "" for none
		wantData   bool   // the body has a "data" entry
	}{
		{"ok, json", postRaw(`{"query":"{ itemGroups { id } }"}`, ""), 200, "", true},
		{"ok, graphql-response", postRaw(`{"query":"{ itemGroups { id } }"}`, gqlResp), 200, "", true},
		{"parse error, json", postRaw(`{"query":"{"}`, "application/json"), 200, "GRAPHQL_PARSE_FAILED", false},
		{"parse error, graphql-response", postRaw(`{"query":"{"}`, gqlResp), 400, "GRAPHQL_PARSE_FAILED", false},
		{"validation error, json", postRaw(`{"query":"{ nope }"}`, ""), 200, "GRAPHQL_VALIDATION_FAILED", false},
		{"validation error, graphql-response", postRaw(`{"query":"{ nope }"}`, gqlResp), 400, "GRAPHQL_VALIDATION_FAILED", false},
		{"variable coercion, json", postRaw(`{"query":"query($id: ID!) { order(id: $id) { id } }","variables":{"id":null}}`, ""), 200, "GRAPHQL_VALIDATION_FAILED", false},
		{"variable coercion, graphql-response", postRaw(`{"query":"query($id: ID!) { order(id: $id) { id } }","variables":{"id":null}}`, gqlResp), 400, "GRAPHQL_VALIDATION_FAILED", false},
		{"body not JSON", postRaw(`{"query":`, ""), 400, "BAD_USER_INPUT", false},
		{"body a JSON array", postRaw(`[{"query":"{ itemGroups { id } }"}]`, gqlResp), 400, "BAD_USER_INPUT", false},
		{"query not a string", postRaw(`{"query":1}`, ""), 400, "BAD_USER_INPUT", false},
		{"variables not an object", postRaw(`{"query":"{ itemGroups { id } }","variables":[1]}`, ""), 400, "BAD_USER_INPUT", false},
		{"no query", postRaw(`{"qeury":"{ itemGroups { id } }"}`, ""), 400, "BAD_USER_INPUT", false},
		{"null parameters", postRaw(`{"query":"{ itemGroups { id } }","operationName":null,"variables":null,"extensions":null}`, ""), 200, "", true},
		{"GET query", getQ(url.Values{"query": {"{ itemGroups { id } }"}}, ""), 200, "", true},
		{"GET bad variables", getQ(url.Values{"query": {"{ itemGroups { id } }"}, "variables": {"{"}}, ""), 400, "BAD_USER_INPUT", false},
		{"GET mutation", getQ(url.Values{"query": {`mutation { placeOrder(input: {idempotencyKey: "k", lines: []}) { userErrors { code } } }`}}, ""), 405, "BAD_USER_INPUT", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, tt.req)
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d: %s", res.status, tt.wantStatus, res.raw)
			}
			var code string
			if codes := errorCodes(res.body); len(codes) > 0 {
				code = codes[0]
			}
			if code != tt.wantCode {
				t.Errorf("code = %q, want %q: %s", code, tt.wantCode, res.raw)
			}
			if _, ok := res.body["data"]; ok != tt.wantData {
				t.Errorf("data entry present = %v, want %v: %s", ok, tt.wantData, res.raw)
			}
			if tt.wantStatus == 405 && res.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", res.header.Get("Allow"))
			}
		})
	}
}

// TestTransportPersistedQueryGET: APQ works over GET with the hash in the
// extensions parameter, after the query was registered by POST.
func TestTransportPersistedQueryGET(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	const query = "{ itemGroups { id } }"
	sum := sha256.Sum256([]byte(query))
	ext, _ := json.Marshal(map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}})
	get := func() response {
		return do(t, h, httptest.NewRequest(http.MethodGet, "/graphql?"+url.Values{"extensions": {string(ext)}}.Encode(), nil))
	}
	if res := get(); res.status != http.StatusOK || cmp.Diff([]string{"PERSISTED_QUERY_NOT_FOUND"}, errorCodes(res.body)) != "" {
		t.Errorf("unknown hash: %d %s", res.status, res.raw)
	}
	body, _ := json.Marshal(map[string]any{"query": query, "extensions": json.RawMessage(ext)})
	r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if res := do(t, h, r); res.status != http.StatusOK || len(errorCodes(res.body)) > 0 {
		t.Fatalf("registering: %d %s", res.status, res.raw)
	}
	want := map[string]any{"data": map[string]any{"itemGroups": []any{map[string]any{"id": "g1"}}}}
	if diff := cmp.Diff(want, get().body); diff != "" {
		t.Errorf("GET by hash (-want +got):\n%s", diff)
	}
}
