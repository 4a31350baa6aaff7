package main

import (
	"context"
	"fmt"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/store"
)

// gatewayStore is what the gateway needs from its store; store.SQLite and
// store.Postgres both provide it, and only this file chooses.
type gatewayStore interface {
	erp.TokenStore
	erp.BudgetStore
	orders.Journal
	feeds.Store
	Ping(ctx context.Context) error
	Close() error
	// Secret returns a named random secret shared by every process on the
	// store (the orders cursor key).
	Secret(ctx context.Context, name string, size int) ([]byte, error)
	// CheckIdentity fails when the store's file was deleted or replaced
	// under the process (SQLite); always nil for PostgreSQL.
	CheckIdentity() error
}

// openStore opens PostgreSQL when cfg.DatabaseURL is set, else the SQLite
// file in dir. sqlite is the SQLite store when that is the one (tests inject
// faults through it), else nil.
func openStore(ctx context.Context, cfg *config, dir string) (st gatewayStore, sqlite *store.SQLite, shared bool, err error) {
	if cfg.DatabaseURL != "" {
		pg, err := store.OpenPostgres(ctx, cfg.DatabaseURL, store.PostgresOptions{})
		if err != nil {
			return nil, nil, false, fmt.Errorf("PostgreSQL store (EXACTQL_DATABASE_URL): %w", err)
		}
		return pg, nil, true, nil
	}
	s, err := store.Open(dir)
	if err != nil {
		return nil, nil, false, err
	}
	return s, s, false, nil
}
