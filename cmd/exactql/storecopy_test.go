package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/store"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// testPGSchema returns a URL of the test database whose search path is a new
// schema, dropped after the test; it skips without EXACTQL_TEST_DATABASE_URL
// (fails under CI=true).
func testPGSchema(t *testing.T) (url, schema string) {
	t.Helper()
	base := os.Getenv("EXACTQL_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but EXACTQL_TEST_DATABASE_URL is not set: run `bash .ci/postgres.sh` and export what it prints")
		}
		t.Skip("EXACTQL_TEST_DATABASE_URL not set (bash .ci/postgres.sh prints one)")
	}
	var b [6]byte
	rand.Read(b[:])
	schema = "exactql_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema, schema
}

func TestPostgresStoreCopyMovesChainAndJournal(t *testing.T) {
	url, schema := testPGSchema(t)
	ctx := context.Background()
	dir := t.TempDir()
	src, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	tok := &erp.StoredToken{AccessToken: "acc", RefreshToken: "ref-7", Expiry: t0.Add(10 * time.Minute)}
	if err := src.SaveToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	pending := orders.JournalRecord{GatewayID: "g1", Account: "acct-1", IdempotencyKey: "k1", Fingerprint: "fp1",
		State: orders.StatePending, Doc: []byte(`{"order":{}}`), Attempts: 1, Created: t0, FirstAttempt: t0, Updated: t0,
		NextAttempt: t0.Add(time.Minute)}
	written := pending
	written.GatewayID, written.IdempotencyKey, written.Created = "g2", "k2", t0.Add(time.Second)
	for _, r := range []orders.JournalRecord{pending, written} {
		if _, _, err := src.Accept(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Settle(ctx, "g2", "", orders.Settlement{State: orders.StateWritten, ExactID: "e2", OrderNumber: 9, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := src.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 77, Complete: true, SyncedAt: t0},
		Upserts: []feeds.Row{{RowKey: feeds.RowKey{Feed: "items", Key: "i1"}, Data: []byte(`{"ID":"i1"}`)}}}); err != nil {
		t.Fatal(err)
	}
	src.Close()

	var out bytes.Buffer
	env := map[string]string{"EXACTQL_DATA_DIR": dir}
	if err := run(ctx, []string{"store", "copy", "--to", url}, envOf(env), &out, &out); err != nil {
		t.Fatalf("store copy: %v", err)
	}
	if !strings.Contains(out.String(), "2 orders, 2 idempotency records and 1 mirror rows") || !strings.Contains(out.String(), schema) {
		t.Errorf("output %q", out.String())
	}

	pg, err := store.OpenPostgres(ctx, url, store.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	got, err := pg.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("token in PostgreSQL (-want +got):\n%s", diff)
	}
	byKey, err := pg.ByKey(ctx, "acct-1", "k1")
	if err != nil || byKey.GatewayID != "g1" || byKey.State != orders.StatePending {
		t.Errorf("ByKey(k1) = %+v, %v; want the pending g1", byKey, err)
	}
	if w, err := pg.Record(ctx, "g2"); err != nil || w.State != orders.StateWritten || w.ExactID != "e2" || w.OrderNumber != 9 {
		t.Errorf("Record(g2) = %+v, %v; want written e2/9", w, err)
	}
	if st, err := pg.MirrorStates(ctx); err != nil || st["items"].Watermark != 77 || !st["items"].Complete {
		t.Errorf("mirror states in PostgreSQL = %+v, %v; want items at watermark 77, complete", st, err)
	}
	if due, err := pg.Due(ctx, t0.Add(time.Hour), 10); err != nil || len(due) != 1 || due[0].GatewayID != "g1" {
		t.Errorf("Due = %+v, %v; want g1 for the replicas' workers", due, err)
	}

	// The file's chain is marked as moved: a gateway on it would not refresh.
	src, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old, err := src.LoadToken(ctx)
	src.Close()
	if err != nil || old.ConsentNeeded != store.MovedReason || old.RefreshToken != "ref-7" {
		t.Errorf("SQLite token after the copy = %+v, %v; want marked as moved", old, err)
	}
	// A second copy is refused: the source was moved, and the destination
	// is not empty.
	if err := run(ctx, []string{"store", "copy", "--to=" + url}, envOf(env), &out, &out); err == nil || !strings.Contains(err.Error(), "already moved") {
		t.Errorf("second copy = %v; want refused as already moved", err)
	}
	other := t.TempDir()
	s2, err := store.Open(other)
	if err != nil {
		t.Fatal(err)
	}
	s2.SaveToken(ctx, &erp.StoredToken{RefreshToken: "another"})
	s2.Close()
	err = run(ctx, []string{"store", "copy"}, envOf(map[string]string{"EXACTQL_DATA_DIR": other, "EXACTQL_DATABASE_URL": url}), &out, &out)
	if !errors.Is(err, store.ErrCopyTargetNotEmpty) {
		t.Errorf("copy into a used store = %v; want ErrCopyTargetNotEmpty", err)
	}
	if got, _ := pg.LoadToken(ctx); got == nil || got.RefreshToken != "ref-7" {
		t.Errorf("the refused copy changed the chain: %+v", got)
	}
}

func TestStoreCopyRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	withFile := t.TempDir()
	s, err := store.Open(withFile)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no subcommand", []string{"store"}, nil, "usage"},
		{"unknown subcommand", []string{"store", "move"}, nil, "usage"},
		{"no destination", []string{"store", "copy"}, map[string]string{"EXACTQL_DATA_DIR": withFile}, "postgres:// URL"},
		{"not postgres", []string{"store", "copy", "--to", "mysql://u:pw@h/db"}, map[string]string{"EXACTQL_DATA_DIR": withFile}, "postgres:// URL"},
		{"stray argument", []string{"store", "copy", "postgres://u:s3cret@h/db"}, nil, "unexpected argument"},
		{"no source", []string{"store", "copy", "--to", "postgres://127.0.0.1:1/x"}, map[string]string{"EXACTQL_DATA_DIR": empty}, "no SQLite store"},
		// Loopback port 1: nothing listens, the error must not quote the password.
		{"unreachable", []string{"store", "copy", "--to", "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"}, map[string]string{"EXACTQL_DATA_DIR": withFile}, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(ctx, tc.args, envOf(tc.env), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(out.String(), "s3cret") {
				t.Errorf("the password leaked: %v / %q", err, out.String())
			}
		})
	}
	if _, err := os.Stat(empty + "/" + store.FileName); err == nil {
		t.Error("store copy created a SQLite file where there was none")
	}
}
