package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// DefaultWebhookSecret is the sandbox app's webhook secret (Exact issues one
// per app in its App Center).
const DefaultWebhookSecret = "sbxWebhookSecret-7Hq2Lm9Vx4"

// Webhook topics the sandbox delivers, and the actions it reports.
const (
	TopicItems          = "Items"
	TopicStockPositions = "StockPositions"
	TopicSalesOrders    = "SalesOrders"
	TopicAccounts       = "Accounts"
	TopicContacts       = "Contacts"
	ActionCreate        = "Create"
	ActionUpdate        = "Update"
	ActionDelete        = "Delete"
)

// knownTopics are the topics a subscription may name (exact-online-api.md §6).
var knownTopics = map[string]bool{
	TopicItems: true, TopicStockPositions: true, TopicSalesOrders: true, TopicAccounts: true, TopicContacts: true,
	"GoodsDeliveries": true, "SalesInvoices": true, "PurchaseOrders": true, "FinancialTransactions": true,
	"Quotations": true, "Documents": true, "BankAccounts": true,
}

// WebhookStats counts the sandbox's webhook traffic.
type WebhookStats struct {
	Validations int `json:"validations"` // empty validation POSTs sent
	Delivered   int `json:"delivered"`   // notifications answered 2xx
	Failed      int `json:"failed"`      // notifications not answered 2xx (no retry)
}

type webhookState struct {
	mu    sync.Mutex
	stats WebhookStats
	wg    sync.WaitGroup
	hc    *http.Client
}

// Sign returns Exact's HashCode for a notification's raw Content JSON:
// upper-case hex HMAC-SHA256 with the app's webhook secret.
func Sign(secret string, content []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(content)
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

// WebhookStats returns the webhook counters.
func (s *Sandbox) WebhookStats() WebhookStats {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.stats
}

// WaitWebhooks blocks until every webhook POST started so far has finished,
// so tests can synchronise without sleeping.
func (s *Sandbox) WaitWebhooks() { s.hooks.wg.Wait() }

// WebhookSecret returns the secret deliveries are signed with.
func (s *Sandbox) WebhookSecret() string { return s.opts.WebhookSecret }

// postSubscription implements POST webhooks/WebhookSubscriptions: CallbackURL
// (absolute http or https URL) and Topic are required; IsInstant is only
// allowed for GoodsDeliveries. A second subscription of the same app for the
// same topic and callback is refused (UNCONFIRMED at Exact: the pessimistic
// reading). About a second after the answer Exact sends an empty validation
// POST; the sandbox sends it at once, asynchronously.
func (s *Sandbox) postSubscription(w http.ResponseWriter, r *http.Request, div int, set odata.EntitySet, clientID string) {
	var body struct {
		CallbackURL string
		Topic       string
		Description string
		IsInstant   bool
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		writeExactError(w, http.StatusBadRequest, "Error processing request stream. The request body must be a JSON object.")
		return
	}
	u, err := url.Parse(body.CallbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(body.CallbackURL) > 2000 {
		writeExactError(w, http.StatusBadRequest, "CallbackURL: a valid absolute URL is required.")
		return
	}
	if !knownTopics[body.Topic] {
		writeExactError(w, http.StatusBadRequest, "Topic: '"+body.Topic+"' is not a valid topic.")
		return
	}
	if body.IsInstant && body.Topic != "GoodsDeliveries" {
		writeExactError(w, http.StatusBadRequest, "IsInstant is only allowed for the topic GoodsDeliveries.")
		return
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	for _, sub := range s.sets[PathWebhookSubscriptions] {
		if sub["ClientID"] == clientID && sub["Topic"] == body.Topic && sub["CallbackURL"] == body.CallbackURL {
			s.mu.Unlock()
			writeExactError(w, http.StatusBadRequest, "A subscription for this topic and callback URL already exists.")
			return
		}
	}
	rec := odata.Record{
		"ID": newGUID(), "CallbackURL": body.CallbackURL, "Topic": body.Topic, "ClientID": clientID,
		"UserID": sandboxUserID, "Division": int64(div), "Description": orNilString(body.Description),
		"Created": now, "IsInstant": body.IsInstant, "base": baseURL(r),
	}
	s.sets[PathWebhookSubscriptions] = append(s.sets[PathWebhookSubscriptions], rec)
	var b bytes.Buffer
	b.WriteString(`{"d":`)
	s.appendEntity(&b, baseURL(r), div, set, rec, selection{}, false)
	b.WriteString(`}`)
	s.mu.Unlock()
	s.send(body.CallbackURL, nil, true)
	writeJSON(w, http.StatusCreated, b.Bytes())
}

// deleteSubscription implements DELETE webhooks/WebhookSubscriptions(guid'…'): 204, or 404.
func (s *Sandbox) deleteSubscription(w http.ResponseWriter, set odata.EntitySet, keyLit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findByKey(set, keyLit)
	if rec == nil {
		writeExactError(w, http.StatusNotFound, "Not found: "+set.Path+"("+keyLit+")")
		return
	}
	subs := s.sets[PathWebhookSubscriptions]
	n := make([]odata.Record, 0, len(subs))
	for _, r := range subs {
		if r["ID"] != rec["ID"] {
			n = append(n, r)
		}
	}
	s.sets[PathWebhookSubscriptions] = n
	w.WriteHeader(http.StatusNoContent)
}

// notify delivers a signed notification to every subscription of topic. It
// must be called without s.mu held.
func (s *Sandbox) notify(topic, action, endpoint, key string) {
	type target struct{ url, clientID, base string }
	var ts []target
	s.mu.RLock()
	for _, sub := range s.sets[PathWebhookSubscriptions] {
		if sub["Topic"] == topic {
			cb, _ := sub["CallbackURL"].(string)
			cid, _ := sub["ClientID"].(string)
			base, _ := sub["base"].(string)
			ts = append(ts, target{cb, cid, base})
		}
	}
	s.mu.RUnlock()
	now := s.clock.Now().UTC()
	for _, t := range ts {
		content, _ := json.Marshal(struct {
			Topic               string
			ClientId            string //nolint:revive // Exact's spelling
			Division            int
			Action              string
			Key                 string
			ExactOnlineEndpoint string
			EventCreatedOn      string
		}{topic, t.clientID, s.division, action, key,
			t.base + "/api/v1/" + strconv.Itoa(s.division) + "/" + endpoint + "(guid'" + key + "')",
			now.Format("2006-01-02T15:04:05.000")})
		body := []byte(`{"Content":` + string(content) + `,"HashCode":"` + Sign(s.opts.WebhookSecret, content) + `"}`)
		s.send(t.url, body, false)
	}
}

// send POSTs body (nil: the empty validation request) to callback in the
// background. Exact's retry policy is UNCONFIRMED; the sandbox does not retry.
func (s *Sandbox) send(callback string, body []byte, validation bool) {
	s.hooks.wg.Add(1)
	go func() {
		defer s.hooks.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, bytes.NewReader(body))
		ok := false
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			if resp, err := s.hooks.hc.Do(req); err == nil {
				ok = resp.StatusCode >= 200 && resp.StatusCode < 300
				_ = resp.Body.Close()
			}
		}
		s.hooks.mu.Lock()
		switch {
		case validation:
			s.hooks.stats.Validations++
		case ok:
			s.hooks.stats.Delivered++
		default:
			s.hooks.stats.Failed++
		}
		s.hooks.mu.Unlock()
	}()
}
