package erp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// WebhookSubscription is a record of webhooks/WebhookSubscriptions.
type WebhookSubscription struct {
	ID          string `json:"ID"`
	CallbackURL string `json:"CallbackURL"`
	Topic       string `json:"Topic"`
	Description string `json:"Description"`
}

// WebhookSubscriptionsService manages the app's webhook subscriptions
// (webhooks/WebhookSubscriptions). An app sees only its own.
type WebhookSubscriptionsService struct {
	entitySet[WebhookSubscription]
}

// WebhookSubscriptions returns the client's webhook subscription service.
func (c *Client) WebhookSubscriptions() *WebhookSubscriptionsService {
	return &WebhookSubscriptionsService{entitySet[WebhookSubscription]{c: c, path: "webhooks/WebhookSubscriptions", key: "ID"}}
}

// All lists every subscription (GET webhooks/WebhookSubscriptions).
func (s *WebhookSubscriptionsService) All(ctx context.Context) ([]WebhookSubscription, error) {
	out, err := s.all(ctx, Query{})
	if err != nil {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.All: %w", err)
	}
	return out, nil
}

// Create subscribes callbackURL to topic (POST webhooks/WebhookSubscriptions).
// The URL must be absolute; Exact requires https (the sandbox accepts http).
// Sent once, never retried.
func (s *WebhookSubscriptionsService) Create(ctx context.Context, callbackURL, topic, description string) (*WebhookSubscription, error) {
	u, err := url.Parse(callbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: callback URL must be an absolute http(s) URL")
	}
	if topic == "" || !validField(topic) {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: invalid topic %q", topic)
	}
	body, err := json.Marshal(struct {
		CallbackURL string `json:"CallbackURL"`
		Topic       string `json:"Topic"`
		Description string `json:"Description,omitempty"`
	}{callbackURL, topic, description})
	if err != nil {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: %w", err)
	}
	ep, err := s.c.endpointURL(ctx, s.path, "")
	if err != nil {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: %w", err)
	}
	resp, err := s.c.do(ctx, http.MethodPost, s.path, ep, body, maxJSONBody)
	if err != nil {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: %w", err)
	}
	rows, _, err := decodeCollection[WebhookSubscription](resp)
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("erp.WebhookSubscriptions.Create: %w", ErrUnreadableResponse)
	}
	return &rows[0], nil
}

// Delete removes the subscription id (DELETE
// webhooks/WebhookSubscriptions(guid'id')). An id that is not a GUID is
// ErrInvalidID and nothing is sent.
func (s *WebhookSubscriptionsService) Delete(ctx context.Context, id string) error {
	v, err := GUID(id)
	if err != nil {
		return fmt.Errorf("erp.WebhookSubscriptions.Delete: %w", ErrInvalidID)
	}
	ep, err := s.c.endpointURL(ctx, s.path+"("+v.String()+")", "")
	if err != nil {
		return fmt.Errorf("erp.WebhookSubscriptions.Delete: %w", err)
	}
	if _, err := s.c.do(ctx, http.MethodDelete, s.path, ep, nil, maxErrorBody); err != nil {
		return fmt.Errorf("erp.WebhookSubscriptions.Delete: %w", err)
	}
	return nil
}
