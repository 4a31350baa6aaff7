package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/store"
)

// webhookTopics are the Exact topics the mirror's feeds listen to (§12).
// Exact has no price topic; prices are polled.
var webhookTopics = []string{"Items", "StockPositions", "SalesOrders", "Accounts", "Contacts"}

// webhookPath is where the gateway receives Exact's webhooks.
const webhookPath = "/webhooks/exact"

// webhooksCmd runs `exactql webhooks subscribe|list|unsubscribe` against
// webhooks/WebhookSubscriptions with the stored Exact token chain.
// subscribe adds the missing topics for EXACTQL_PUBLIC_URL's callback,
// unsubscribe removes this callback's subscriptions, list prints all the
// app's subscriptions.
func webhooksCmd(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "subscribe" && args[0] != "list" && args[0] != "unsubscribe") {
		return errors.New("usage: exactql webhooks subscribe|list|unsubscribe")
	}
	if cfg.Mode != "production" {
		return errors.New("webhooks needs a real Exact app (EXACT_CLIENT_ID, EXACT_CLIENT_SECRET); the embedded sandbox is new on every start")
	}
	var callback string
	if args[0] != "list" {
		if cfg.PublicURL == "" {
			return errors.New("webhooks " + args[0] + " needs EXACTQL_PUBLIC_URL (the gateway's public https URL)")
		}
		if u, _ := url.Parse(cfg.PublicURL); u == nil || (u.Scheme != "https" && !isLoopback(u.Hostname())) {
			return errors.New("EXACTQL_PUBLIC_URL must be https: Exact only calls https callbacks")
		}
		callback = cfg.PublicURL + webhookPath
	}
	st, err := store.Open(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	if _, err := erp.SeedToken(ctx, st, cfg.ExactRefreshToken); err != nil {
		return fmt.Errorf("seeding the token store: %w", err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{BaseURL: cfg.ExactBaseURL, ClientID: cfg.ExactClientID,
		ClientSecret: cfg.ExactClientSecret, Store: st, HTTPClient: hc, Now: cfg.now})
	opts := []erp.Option{erp.WithBaseURL(cfg.ExactBaseURL), erp.WithHTTPClient(hc), erp.WithTokenSource(ts)}
	if cfg.ExactDivision != 0 {
		opts = append(opts, erp.WithDivision(cfg.ExactDivision))
	}
	client, err := erp.New(opts...)
	if err != nil {
		return fmt.Errorf("exact client: %w", err)
	}
	subs := client.WebhookSubscriptions()
	existing, err := subs.All(ctx)
	if err != nil {
		return err
	}
	switch args[0] {
	case "list":
		if len(existing) == 0 {
			fmt.Fprintln(stdout, "no webhook subscriptions")
		}
		for _, s := range existing {
			fmt.Fprintf(stdout, "%s  %-15s %s\n", s.ID, s.Topic, s.CallbackURL)
		}
	case "subscribe":
		have := map[string]bool{}
		for _, s := range existing {
			if strings.EqualFold(s.CallbackURL, callback) {
				have[s.Topic] = true
			}
		}
		for _, topic := range webhookTopics {
			if have[topic] {
				fmt.Fprintf(stdout, "%-15s already subscribed\n", topic)
				continue
			}
			s, err := subs.Create(ctx, callback, topic, "exactql mirror")
			if err != nil {
				return fmt.Errorf("subscribing %s: %w", topic, err)
			}
			fmt.Fprintf(stdout, "%-15s subscribed (%s) → %s\n", topic, s.ID, callback)
		}
	case "unsubscribe":
		n := 0
		for _, s := range existing {
			if !strings.EqualFold(s.CallbackURL, callback) {
				continue
			}
			if err := subs.Delete(ctx, s.ID); err != nil {
				return fmt.Errorf("unsubscribing %s: %w", s.Topic, err)
			}
			fmt.Fprintf(stdout, "%-15s unsubscribed (%s)\n", s.Topic, s.ID)
			n++
		}
		if n == 0 {
			fmt.Fprintf(stdout, "no subscriptions for %s\n", callback)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
