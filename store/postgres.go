package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The PostgreSQL store (ARCHITECTURE §11): the same tables and behaviour as
// the SQLite file, shared by several gateway replicas. Every replica opens a
// bounded pool (DefaultMaxConns unless the URL's pool_max_conns says
// otherwise); migrations are embedded and applied at start by whichever
// replica takes the migration advisory lock first.

//go:embed pg_migrations/*.sql
var pgMigrationFiles embed.FS

// DefaultMaxConns is the pool size of one replica unless the URL sets
// pool_max_conns: the refresh lock holds one connection while Exact is
// called, the order worker and requests share the rest.
const DefaultMaxConns = 10

// ErrDatabaseURL is wrapped by OpenPostgres's error for a URL it cannot use.
var ErrDatabaseURL = errors.New("store: invalid PostgreSQL URL")

// PostgresOptions configures OpenPostgres. Zero fields take the defaults.
type PostgresOptions struct {
	// Now is the clock for stored timestamps (default time.Now).
	Now func() time.Time
	// Schema, when set, is created if missing and used as the search path
	// of every connection (tests give each test its own schema).
	Schema string
	// ConnectTimeout bounds connecting and migrating (default 30 s).
	ConnectTimeout time.Duration
}

// Postgres is the shared store. It is safe for concurrent use, also by many
// processes (replicas) using the same database and schema.
type Postgres struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	schema string
	// refreshKey is the advisory lock key of the token refresh lock,
	// distinct per schema.
	refreshKey int64
	secret     string // the URL's password, redacted from errors

	mu       sync.Mutex
	fault    func(op string) error
	lockConn *pgxpool.Conn // the connection holding the refresh lock

	// fence is the mirror leadership epoch MirrorApply writes under: 0
	// unfenced, -1 refused (not the leader), else the epoch (pg_leader.go).
	fence atomic.Int64
	// applies counts mirror batches (the log is pruned every pruneEvery).
	applies atomic.Int64
}

// OpenPostgres connects to the database at rawURL (postgres://… or a
// key=value DSN), applies pending migrations under an advisory lock and
// returns the store. Errors never contain the URL's password.
func OpenPostgres(ctx context.Context, rawURL string, o PostgresOptions) (*Postgres, error) {
	secret := urlPassword(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store.OpenPostgres: %w", redactErr(fmt.Errorf("%w: %w", ErrDatabaseURL, err), secret))
	}
	if !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "exactql"
	if o.Schema != "" {
		if !validIdent(o.Schema) {
			return nil, fmt.Errorf("store.OpenPostgres: schema %q: want lower-case letters, digits and _", o.Schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	}
	tmo := o.ConnectTimeout
	if tmo <= 0 {
		tmo = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, tmo)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store.OpenPostgres: %w", redactErr(err, secret))
	}
	p := &Postgres{pool: pool, now: o.Now, secret: secret}
	if p.now == nil {
		p.now = time.Now
	}
	if o.Schema != "" {
		// Two processes creating it at once may both pass IF NOT EXISTS; the
		// loser's unique violation means the schema is there.
		var pgErr *pgconn.PgError
		if _, err := pool.Exec(cctx, `CREATE SCHEMA IF NOT EXISTS `+o.Schema); err != nil &&
			!(errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "42P06")) {
			pool.Close()
			return nil, fmt.Errorf("store.OpenPostgres: create schema: %w", redactErr(err, secret))
		}
	}
	if err := pool.QueryRow(cctx, `SELECT current_schema()`).Scan(&p.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store.OpenPostgres: %w", redactErr(err, secret))
	}
	p.refreshKey = lockKey(p.schema, "refresh")
	if err := p.migrate(cctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store.OpenPostgres: %w", redactErr(err, secret))
	}
	return p, nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// lockKey is the advisory lock key of name in schema: replicas sharing a
// schema share the lock, tests in other schemas do not contend for it.
func lockKey(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("exactql\x00" + schema + "\x00" + name))
	return int64(h.Sum64())
}

func urlPassword(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			return pw
		}
	}
	for _, f := range strings.Fields(raw) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, `'`)
		}
	}
	return ""
}

// redactedError hides a password that a driver error may quote.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactErr(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

// Close closes the pool (waiting for connections in use to be returned).
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// Pool returns the connection pool, for packages that add their own tables.
func (p *Postgres) Pool() *pgxpool.Pool { return p.pool }

// Schema returns the schema the store's tables live in.
func (p *Postgres) Schema() string { return p.schema }

// migrate applies the embedded migrations that are not yet recorded, all in
// one transaction holding a transaction-level advisory lock, so replicas
// starting together apply each exactly once.
func (p *Postgres) migrate(ctx context.Context) error {
	names, err := fs.Glob(pgMigrationFiles, "pg_migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(p.schema, "migrate")); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for i, name := range names {
			v := i + 1
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, v).Scan(&n); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if n > 0 {
				continue
			}
			body, err := pgMigrationFiles.ReadFile(name)
			if err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", v, name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)`,
				v, strings.TrimPrefix(name, "pg_migrations/"), time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// FailWrites installs a fault hook for tests, as SQLite.FailWrites does.
func (p *Postgres) FailWrites(hook func(op string) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = hook
}

func (p *Postgres) checkFault(op string) error {
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f(op); err != nil {
		return fmt.Errorf("injected fault on %s: %w", op, err)
	}
	return nil
}

// wrap prefixes err with the operation and redacts the URL's password. A
// failure to reach the database is marked unavailable (transient).
func (p *Postgres) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	err = redactErr(err, p.secret)
	if unreachable(err) {
		err = &unavailableError{err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unreachable reports whether err means the database could not be reached
// (connecting failed, the connection ended), not that it refused the
// statement.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// unavailableError marks a database that cannot be reached. It is a
// net.Error, so erp.IsTransient reports it as transient like any network
// failure: callers answer UPSTREAM_UNAVAILABLE (placeOrder refuses before
// recording anything) instead of an internal error.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return "database unreachable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error   { return e.err }
func (e *unavailableError) Timeout() bool   { return false }
func (e *unavailableError) Temporary() bool { return true }

var _ net.Error = (*unavailableError)(nil)

// Ping checks that the store is writable (for /readyz) by committing an
// update of the heartbeat row.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.checkFault(OpPing); err != nil {
		return fmt.Errorf("store.Ping: %w", err)
	}
	_, err := p.pool.Exec(ctx, `INSERT INTO heartbeat (id, at_ms) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms`, p.now().UnixMilli())
	return p.wrap("store.Ping", err)
}
