package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exactql/exactql/store"
)

// storeCommand runs `exactql store copy [--to postgres://…]`: it moves the
// embedded SQLite store of EXACTQL_DATA_DIR (token chain, idempotency
// records, order journal) into an empty PostgreSQL store, so replicas start
// on the same Exact token chain without a new consent.
func storeCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	const usage = "usage: exactql store copy [--to postgres://…] (default: EXACTQL_DATABASE_URL); the source is the SQLite store in EXACTQL_DATA_DIR"
	if len(args) == 0 || args[0] != "copy" {
		return errors.New(usage)
	}
	to := strings.TrimSpace(getenv("EXACTQL_DATABASE_URL"))
	rest := args[1:]
	for len(rest) > 0 {
		switch a := rest[0]; {
		case a == "--to" || a == "-to":
			if len(rest) < 2 {
				return errors.New(usage)
			}
			to, rest = rest[1], rest[2:]
		case strings.HasPrefix(a, "--to="):
			to, rest = strings.TrimPrefix(a, "--to="), rest[1:]
		default:
			// The argument is not echoed: it may be a URL with a password.
			return errors.New("store copy: unexpected argument; " + usage)
		}
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return errors.New("store copy: the destination must be a postgres:// URL (--to or EXACTQL_DATABASE_URL)")
	}
	dir := strings.TrimSpace(getenv("EXACTQL_DATA_DIR"))
	if dir == "" {
		dir = "./data"
	}
	path := filepath.Join(dir, store.FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("store copy: no SQLite store at %s (set EXACTQL_DATA_DIR): %w", path, err)
	}
	src, err := store.Open(dir)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	defer src.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	dst, err := store.OpenPostgres(cctx, to, store.PostgresOptions{})
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	defer dst.Close()
	st, err := store.CopyToPostgres(cctx, src, dst)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	token := "no token chain (run `exactql auth` with EXACTQL_DATABASE_URL set)"
	if st.Token {
		token = "the Exact token chain"
	}
	fmt.Fprintf(stdout, "Copied %s, %d orders, %d idempotency records and %d mirror rows from %s to PostgreSQL (schema %s).\n",
		token, st.Orders, st.Idempotency, st.MirrorRows, path, dst.Schema())
	fmt.Fprintln(stdout, "The SQLite file's token is marked as moved; start the replicas with EXACTQL_DATABASE_URL set.")
	return nil
}
