package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestWebhooksCommand runs `exactql webhooks …` against the sandbox.
func TestWebhooksCommand(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	vars := map[string]string{
		"EXACT_CLIENT_ID": sb.ClientID(), "EXACT_CLIENT_SECRET": sb.ClientSecret(), "EXACT_BASE_URL": srv.URL,
		"EXACT_REFRESH_TOKEN": sb.IssueRefreshToken(), "EXACT_DIVISION": strconv.Itoa(sb.Division()),
		"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_DATA_DIR": t.TempDir(),
		"EXACTQL_PUBLIC_URL": "http://127.0.0.1:9",
	}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"webhooks"}, args...), env(vars), &out, &out)
		return out.String(), err
	}
	out, err := cli("subscribe")
	if err != nil || strings.Count(out, "subscribed (") != len(webhookTopics) {
		t.Fatalf("subscribe: %v\n%s", err, out)
	}
	out, err = cli("subscribe")
	if err != nil || strings.Count(out, "already subscribed") != len(webhookTopics) {
		t.Fatalf("second subscribe: %v\n%s", err, out)
	}
	out, err = cli("list")
	if err != nil || strings.Count(out, "http://127.0.0.1:9/webhooks/exact") != len(webhookTopics) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = cli("unsubscribe")
	if err != nil || strings.Count(out, "unsubscribed") != len(webhookTopics) {
		t.Fatalf("unsubscribe: %v\n%s", err, out)
	}
	if out, err = cli("list"); err != nil || !strings.Contains(out, "no webhook subscriptions") {
		t.Fatalf("list after unsubscribe: %v\n%s", err, out)
	}
	sb.WaitWebhooks()

	for name, c := range map[string]struct {
		args []string
		mod  map[string]string
	}{
		"no verb":         {nil, nil},
		"unknown verb":    {[]string{"purge"}, nil},
		"two verbs":       {[]string{"list", "list"}, nil},
		"no public URL":   {[]string{"subscribe"}, map[string]string{"EXACTQL_PUBLIC_URL": ""}},
		"plain http":      {[]string{"subscribe"}, map[string]string{"EXACTQL_PUBLIC_URL": "http://shop.example.com"}},
		"sandbox mode":    {[]string{"list"}, map[string]string{"EXACT_CLIENT_ID": ""}},
		"bad public URL":  {[]string{"list"}, map[string]string{"EXACTQL_PUBLIC_URL": "shop"}},
		"bad sync share":  {[]string{"list"}, map[string]string{"EXACTQL_SYNC_SHARE": "1.5"}},
		"zero sync share": {[]string{"list"}, map[string]string{"EXACTQL_SYNC_SHARE": "0"}},
		"sync not a bool": {[]string{"list"}, map[string]string{"EXACTQL_SYNC": "maybe"}},
	} {
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		for k, x := range c.mod {
			v[k] = x
		}
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"webhooks"}, c.args...), env(v), &out, &out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSyncSettings(t *testing.T) {
	c, err := loadConfig(env(map[string]string{"EXACTQL_SYNC_SHARE": "0.25", "EXACTQL_PUBLIC_URL": "https://shop.example.com/", "EXACT_WEBHOOK_SECRET": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Sync || c.SyncShare != 0.25 || c.PublicURL != "https://shop.example.com" || c.WebhookSecret != "x" {
		t.Errorf("config %+v", c)
	}
	d, _ := loadConfig(env(nil))
	if !d.Sync || d.SyncShare != 0.3 || d.PublicURL != "" {
		t.Errorf("defaults: sync %v share %v url %q", d.Sync, d.SyncShare, d.PublicURL)
	}
}
