package store_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/store"
)

// proxy forwards loopback connections to PostgreSQL until it is cut.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// cut closes the listener and every forwarded connection: the database is
// unreachable from then on.
func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// When the database becomes unreachable every operation fails at once with
// an error the gateway treats as transient (UPSTREAM_UNAVAILABLE, nothing
// recorded), readiness fails, and the shared budget refuses to send calls.
func TestPostgresUnreachableDatabase(t *testing.T) {
	raw := pgURL(t)
	schema := pgSchema(t, raw)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	px := startProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	c := newClock()
	s := openPG(t, u.String(), schema, c)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping through the proxy: %v", err)
	}
	px.cut()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with the database gone = nil; /readyz must fail")
	}
	_, _, err = s.Accept(ctx, rec("g1", "k1", jt0))
	if err == nil || !erp.IsTransient(err) {
		t.Errorf("Accept with the database gone = %v (transient %v); want a transient error", err, erp.IsTransient(err))
	}
	if _, err := s.ByKey(ctx, acctA, "k1"); err == nil || !erp.IsTransient(err) {
		t.Errorf("ByKey with the database gone = %v; want a transient error", err)
	}
	g := erp.NewGovernor(erp.GovernorOptions{})
	g.ShareBudget(erp.NewSharedBudget(s, erp.GovernorOptions{}), 1)
	if _, err := g.Wait(ctx, erp.PriorityWrite); !errors.Is(err, erp.ErrBudgetUnavailable) || !erp.IsTransient(err) {
		t.Errorf("Wait with the database gone = %v; want ErrBudgetUnavailable", err)
	}
	if err := s.WithRefreshLock(ctx, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) {
		t.Error("fn ran without the lock")
		return nil, nil
	}); err == nil {
		t.Error("WithRefreshLock with the database gone = nil")
	}
	if err := s.Ping(ctx); err != nil && strings.Contains(err.Error(), "password") {
		t.Errorf("error mentions a password: %v", err)
	}
}

func TestPostgresOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, url string }{
		{"garbage", "postgres://u:s3cret@[::1:5432/x"},
		{"unreachable", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.OpenPostgres(ctx, tc.url, store.PostgresOptions{ConnectTimeout: 5 * time.Second})
			if err == nil {
				t.Fatal("OpenPostgres = nil error")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
	if _, err := store.OpenPostgres(ctx, "postgres://127.0.0.1:1/x", store.PostgresOptions{Schema: "Bad-Name"}); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("bad schema = %v; want refused", err)
	}
}

// Replicas starting together apply each migration once, and the pool is
// bounded (10 unless the URL says otherwise).
func TestPostgresMigrationsOnceAndPoolLimit(t *testing.T) {
	raw := pgURL(t)
	schema := pgSchema(t, raw)
	c := newClock()
	var wg sync.WaitGroup
	stores := make([]*store.Postgres, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := store.OpenPostgres(context.Background(), raw, store.PostgresOptions{Now: c.Now, Schema: schema})
			if err != nil {
				t.Errorf("OpenPostgres %d: %v", i, err)
				return
			}
			stores[i] = p
		}()
	}
	wg.Wait()
	for _, p := range stores {
		if p != nil {
			t.Cleanup(func() { p.Close() })
		}
	}
	if t.Failed() {
		return
	}
	var n, max int
	if err := stores[0].Pool().QueryRow(context.Background(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("pg_migrations")
	if err != nil {
		t.Fatal(err)
	}
	if n != max || n != len(files) {
		t.Errorf("schema_migrations has %d rows up to version %d; want versions 1..%d once each", n, max, len(files))
	}
	if got := stores[0].Pool().Config().MaxConns; got != store.DefaultMaxConns {
		t.Errorf("pool max = %d; want %d", got, store.DefaultMaxConns)
	}
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	p := openPG(t, raw+sep+"pool_max_conns=3", schema, c)
	if got := p.Pool().Config().MaxConns; got != 3 {
		t.Errorf("pool max with pool_max_conns=3 = %d", got)
	}
}
