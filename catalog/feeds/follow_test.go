package feeds_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/store"
)

// mirrorState is a subscriber that keeps what an index would: the current
// row of every key.
type mirrorState struct {
	mu   sync.Mutex
	rows map[string]any
}

func (m *mirrorState) sub(cs []feeds.Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]any{}
	}
	for _, c := range cs {
		if c.Deleted {
			delete(m.rows, c.Feed+"/"+c.Key)
		} else {
			m.rows[c.Feed+"/"+c.Key] = c.Row
		}
	}
}

func (m *mirrorState) snapshot() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]any, len(m.rows))
	for k, v := range m.rows {
		out[k] = v
	}
	return out
}

// same compares two rows as they are stored (decimal.Decimal and
// time.Time values equal in JSON may differ in their representation).
func same(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// pgSchemaStores opens two handles (two replicas) on a new schema of
// EXACTQL_TEST_DATABASE_URL.
func pgSchemaStores(t *testing.T, now func() time.Time) (*store.Postgres, *store.Postgres) {
	t.Helper()
	url := os.Getenv("EXACTQL_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but EXACTQL_TEST_DATABASE_URL is not set: run `bash .ci/postgres.sh` and export what it prints")
		}
		t.Skip("EXACTQL_TEST_DATABASE_URL not set: the PostgreSQL tests skip (bash .ci/postgres.sh prints one)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "exactql_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	var out [2]*store.Postgres
	for i := range out {
		p, err := store.OpenPostgres(ctx, url, store.PostgresOptions{Schema: schema, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		out[i] = p
	}
	return out[0], out[1]
}

// TestPostgresFollowerCatchUp: a runner that only follows the change log
// (another replica) ends with exactly the rows the leading runner handed
// its subscriber, after a first pass, changed, new and deleted rows and
// re-read reference sets, without calling Exact.
func TestPostgresFollowerCatchUp(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 300; o.Data.Customers = 30 })
	ctx := context.Background()
	ls, fs := pgSchemaStores(t, e.clock.Now)
	leaderState, followerState := &mirrorState{}, &mirrorState{}
	leader := e.runner(t, e.client(t), ls, leaderState.sub, nil)
	follower := e.runner(t, e.client(t), fs, followerState.sub, nil)
	// The follower starts before anything is stored.
	if _, err := follower.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := leader.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		calls := len(apiCalls(e.sb))
		n, err := follower.CatchUp(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(apiCalls(e.sb)); got != calls {
			t.Errorf("%s: the follower called Exact %d times", when, got-calls)
		}
		want, got := leaderState.snapshot(), followerState.snapshot()
		if len(want) == 0 || len(want) != len(got) || !func() bool {
			for k, v := range want {
				if !same(v, got[k]) {
					return false
				}
			}
			return true
		}() {
			missing, extra, differ := 0, 0, 0
			for k, v := range want {
				g, ok := got[k]
				switch {
				case !ok:
					missing++
				case !same(v, g):
					if differ == 0 {
						t.Logf("%s differs:\nleader   %+v\nfollower %+v", k, v, g)
					}
					differ++
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					extra++
				}
			}
			t.Errorf("%s: follower holds %d rows, leader %d: %d missing, %d extra, %d different", when, len(got), len(want), missing, extra, differ)
		}
		if !follower.Complete() {
			t.Errorf("%s: the follower does not see the feeds complete: %+v", when, follower.Status())
		}
		t.Logf("%s: follower applied %d log entries; %d rows on both", when, n, len(got))
	}
	check("after the first pass")

	var item erp.SyncItem
	var agreement erp.SyncSalesItemPrice
	for _, v := range leaderState.snapshot() {
		switch r := v.(type) {
		case erp.SyncItem:
			if item.ID == "" {
				item = r
			}
		case erp.SyncSalesItemPrice:
			if r.Account != "" && agreement.ID == "" {
				agreement = r
			}
		}
	}
	if err := e.sb.SetStandardSalesPrice(item.ID, decimal.RequireFromString("42.50")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.AddItem(sandbox.NewItem{Code: "FOLLOW-1", Description: "Follower item", Price: decimal.NewFromInt(9)}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.DeletePriceAgreement(agreement.ID); err != nil {
		t.Fatal(err)
	}
	// A day later every feed is due, the reference sets are re-read whole.
	e.clock.Advance(25 * time.Hour)
	if err := leader.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	check("after changes, a deletion and re-read reference sets")
	if _, ok := followerState.snapshot()[feeds.FeedPrices+"/"+agreement.ID]; ok {
		t.Error("the deleted price agreement is still on the follower")
	}
}
