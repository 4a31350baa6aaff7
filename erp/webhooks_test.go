package erp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func TestWebhookSubscriptionsAgainstSandbox(t *testing.T) {
	ctx := context.Background()
	c, sb := sandboxClient(t, sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	svc := c.WebhookSubscriptions()
	sub, err := svc.Create(ctx, hook.URL+"/webhooks/exact", "Items", "exactql")
	if err != nil || sub.ID == "" || sub.Topic != "Items" {
		t.Fatalf("Create: %+v, %v", sub, err)
	}
	sb.WaitWebhooks()
	if st := sb.WebhookStats(); st.Validations != 1 {
		t.Errorf("validation POSTs: %d", st.Validations)
	}
	all, err := svc.All(ctx)
	if err != nil || len(all) != 1 || all[0].ID != sub.ID || all[0].CallbackURL != hook.URL+"/webhooks/exact" {
		t.Fatalf("All: %+v, %v", all, err)
	}
	if err := svc.Delete(ctx, sub.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if all, _ := svc.All(ctx); len(all) != 0 {
		t.Errorf("after Delete: %+v", all)
	}
	var e *erp.Error
	if err := svc.Delete(ctx, sub.ID); !errors.As(err, &e) || e.StatusCode != 404 {
		t.Errorf("second Delete: %v", err)
	}
	if err := svc.Delete(ctx, "not-a-guid"); !errors.Is(err, erp.ErrInvalidID) {
		t.Errorf("Delete invalid: %v", err)
	}
	for _, u := range []string{"", "ftp://x/y", "/relative"} {
		if _, err := svc.Create(ctx, u, "Items", ""); err == nil {
			t.Errorf("Create %q accepted", u)
		}
	}
	if _, err := svc.Create(ctx, hook.URL, "bad topic", ""); err == nil {
		t.Error("bad topic accepted")
	}
}
