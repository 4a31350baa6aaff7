package store

import (
	"context"
	"crypto/rand"
	"fmt"
)

// Secret returns the named random secret of this store, creating it with
// size random bytes on first use. Every process on the store gets the same
// bytes, across restarts (the orders cursor key is one). Creation is
// race-free across processes: the first insert wins and everyone reads it.
// The table is created on demand rather than by a migration, so secrets
// need no schema version of their own.
func (s *SQLite) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if name == "" || size < 16 || size > 1024 {
		return nil, fmt.Errorf("store.Secret: invalid name or size")
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS app_secret (
		name TEXT PRIMARY KEY,
		value BLOB NOT NULL,
		created_ms INTEGER NOT NULL
	)`); err != nil {
		return nil, fmt.Errorf("store.Secret: %w", err)
	}
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("store.Secret: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO app_secret (name, value, created_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, fresh, s.now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("store.Secret: %w", err)
	}
	var v []byte
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM app_secret WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("store.Secret: %w", err)
	}
	if len(v) < 16 {
		return nil, fmt.Errorf("store.Secret: stored secret %q is too short", name)
	}
	return v, nil
}
