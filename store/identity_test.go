package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/exactql/exactql/store"
)

// TestStoreDeletedOrReplacedWhileOpen: deleting the database file, or
// putting another file in its place, while the store is open makes Ping
// (the /readyz heartbeat) and Accept fail with ErrReplaced, and no empty
// database appears at the path when the pool opens a new connection.
// Restoring the original file makes the store healthy again.
func TestStoreDeletedOrReplacedWhileOpen(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by a copy", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tmp := path + ".new"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClock()
			dir := t.TempDir()
			s := open(t, dir, c)
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("Ping before: %v", err)
			}
			if err := s.CheckIdentity(); err != nil {
				t.Fatalf("CheckIdentity before: %v", err)
			}
			if _, _, err := s.Accept(ctx, rec("g1", "k1", c.Now())); err != nil {
				t.Fatalf("Accept before: %v", err)
			}
			path := filepath.Join(dir, store.FileName)
			// Keep the original reachable to restore it afterwards.
			keep := filepath.Join(dir, "kept.db")
			if err := os.Link(path, keep); err != nil {
				t.Fatal(err)
			}
			tc.replace(t, path)

			if err := s.Ping(ctx); !errors.Is(err, store.ErrReplaced) {
				t.Errorf("Ping = %v, want ErrReplaced", err)
			}
			if err := s.CheckIdentity(); !errors.Is(err, store.ErrReplaced) {
				t.Errorf("CheckIdentity = %v, want ErrReplaced", err)
			}
			if _, _, err := s.Accept(ctx, rec("g2", "k2", c.Now())); !errors.Is(err, store.ErrReplaced) {
				t.Errorf("Accept = %v, want ErrReplaced", err)
			}
			if tc.name == "deleted" {
				// A fresh connection must not create an empty database.
				s.DB().SetMaxIdleConns(0)
				conn, err := s.DB().Conn(ctx)
				if err == nil {
					_, err = conn.ExecContext(ctx, `SELECT count(*) FROM order_journal`)
					conn.Close()
				}
				if _, serr := os.Stat(path); serr == nil {
					t.Errorf("a new connection created %s (conn err %v)", store.FileName, err)
				}
			}

			// Restored: healthy again, and the journal holds what was accepted.
			if err := os.Rename(keep, path); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("Ping after restoring: %v", err)
			}
			if _, err := s.Record(ctx, "g1"); err != nil {
				t.Errorf("Record g1 after restoring: %v", err)
			}
		})
	}
}
