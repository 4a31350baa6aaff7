package store

import (
	"context"
	"crypto/rand"
	"fmt"
)

// Secret returns the named random secret of this store, creating it with
// size random bytes on first use, like (*SQLite).Secret. Every replica on
// the database gets the same bytes: the first insert wins and everyone
// reads the stored value.
func (p *Postgres) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	if name == "" || size < 16 || size > 1024 {
		return nil, fmt.Errorf("store.Secret: invalid name or size")
	}
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("store.Secret: %w", err)
	}
	if _, err := p.pool.Exec(ctx, `INSERT INTO app_secret (name, value, created_ms) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, fresh, p.now().UnixMilli()); err != nil {
		return nil, p.wrap("store.Secret", err)
	}
	var v []byte
	if err := p.pool.QueryRow(ctx, `SELECT value FROM app_secret WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, p.wrap("store.Secret", err)
	}
	if len(v) < 16 {
		return nil, fmt.Errorf("store.Secret: stored secret %q is too short", name)
	}
	return v, nil
}

// CheckIdentity is always nil for PostgreSQL: there is no local file that
// could be deleted or replaced under the process (the SQLite store's check);
// an unreachable database shows in Ping instead.
func (p *Postgres) CheckIdentity() error { return nil }
