// Package store speaks to exactql's databases: by default one SQLite file
// (modernc.org/sqlite, no cgo) in EXACTQL_DATA_DIR, or PostgreSQL
// (EXACTQL_DATABASE_URL, OpenPostgres) shared by several replicas. Both keep
// the Exact OAuth2 token chain, the shared rate budget, the idempotency
// records and order journal, the mirror's rows with their feeds' watermarks
// and the store's named secrets; each table arrives as a migration.
//
// Everything the gateway needs from it is consumed through small interfaces
// in the consuming packages (erp.TokenStore, erp.BudgetStore, orders.Journal,
// feeds.Store), and the contract tests run against both backends.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the name of the database file inside the data directory.
const FileName = "exactql.db"

// DefaultLeaseTTL is how long the refresh lock is held at most when its
// holder dies; it must exceed the token source's refresh timeout (30 s).
const DefaultLeaseTTL = 2 * time.Minute

// ErrLockLost means the caller no longer holds the refresh lock (its lease
// ran out and another process took it).
var ErrLockLost = errors.New("store: refresh lock lost")

// SQLite is the embedded store. It is safe for concurrent use, also by
// several processes opening the same file.
type SQLite struct {
	db       *sql.DB
	path     string
	file     *os.File // the database file as opened, kept for CheckIdentity
	now      func() time.Time
	leaseTTL time.Duration

	mu    sync.Mutex
	fault func(op string) error
}

// Option configures Open.
type Option func(*SQLite)

// WithClock sets the clock used for lock leases (tests compress time with it).
func WithClock(now func() time.Time) Option { return func(s *SQLite) { s.now = now } }

// WithLeaseTTL sets how long a refresh lock survives a crashed holder.
func WithLeaseTTL(d time.Duration) Option { return func(s *SQLite) { s.leaseTTL = d } }

// The write operations a fault hook (FailWrites) is asked about.
const (
	OpSaveToken = "save_token"
	OpLock      = "lock"
	OpMark      = "mark"
	OpCommit    = "commit"
	OpUnlock    = "unlock"
	OpPing      = "ping"
)

// migrations is the schema history: append, never edit. Each entry runs once,
// in its own transaction, recorded in schema_migrations.
var migrations = []string{
	// 1: the OAuth2 token chain (one row) and the refresh lock lease (one
	// row), plus a heartbeat row for Ping.
	`CREATE TABLE oauth_token (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		access_token TEXT NOT NULL,
		refresh_token TEXT NOT NULL,
		expiry_ms INTEGER NOT NULL,
		refresh_started_ms INTEGER NOT NULL DEFAULT 0,
		consent_needed TEXT NOT NULL DEFAULT '',
		updated_ms INTEGER NOT NULL
	);
	CREATE TABLE refresh_lease (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		owner TEXT NOT NULL,
		until_ms INTEGER NOT NULL
	);
	INSERT INTO refresh_lease (id, owner, until_ms) VALUES (1, '', 0);
	CREATE TABLE heartbeat (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		at_ms INTEGER NOT NULL
	);`,
	// 2: the order journal and the idempotency records (journal.go).
	`CREATE TABLE order_journal (
		gateway_id TEXT PRIMARY KEY,
		account TEXT NOT NULL,
		idem_key TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		state TEXT NOT NULL,
		doc BLOB NOT NULL,
		exact_id TEXT NOT NULL DEFAULT '',
		order_number INTEGER NOT NULL DEFAULT 0,
		rejection_reason TEXT NOT NULL DEFAULT '',
		attempts INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		created_ms INTEGER NOT NULL,
		first_attempt_ms INTEGER NOT NULL DEFAULT 0,
		next_attempt_ms INTEGER NOT NULL DEFAULT 0,
		updated_ms INTEGER NOT NULL,
		lease_owner TEXT NOT NULL DEFAULT '',
		lease_until_ms INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX order_journal_due ON order_journal (state, next_attempt_ms);
	CREATE INDEX order_journal_account ON order_journal (account, created_ms);
	CREATE TABLE idempotency (
		account TEXT NOT NULL,
		idem_key TEXT NOT NULL,
		fingerprint TEXT NOT NULL,
		gateway_id TEXT NOT NULL REFERENCES order_journal (gateway_id),
		created_ms INTEGER NOT NULL,
		PRIMARY KEY (account, idem_key)
	);`,
	// 3: the mirror's rows and feed states (mirror.go).
	`CREATE TABLE mirror_rows (
		feed TEXT NOT NULL,
		key TEXT NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (feed, key)
	) WITHOUT ROWID;
	CREATE TABLE mirror_feeds (
		feed TEXT PRIMARY KEY,
		watermark INTEGER NOT NULL,
		complete INTEGER NOT NULL,
		synced_ms INTEGER NOT NULL
	);`,
	// 4: the shared rate budget, one row per division (budget.go).
	`CREATE TABLE rate_budget (
		division INTEGER PRIMARY KEY,
		minute_limit INTEGER NOT NULL,
		minute_remaining INTEGER NOT NULL,
		minute_reset_ms INTEGER NOT NULL,
		minute_known BOOLEAN NOT NULL,
		day_limit INTEGER NOT NULL,
		day_remaining INTEGER NOT NULL,
		day_reset_ms INTEGER NOT NULL,
		day_known BOOLEAN NOT NULL,
		blocked_until_ms INTEGER NOT NULL,
		blocked_minutely BOOLEAN NOT NULL,
		read_tokens REAL NOT NULL,
		tokens_at_ms INTEGER NOT NULL,
		inflight INTEGER NOT NULL,
		inflight_until_ms INTEGER NOT NULL,
		rate_limited INTEGER NOT NULL,
		updated_ms INTEGER NOT NULL
	);`,
}

// Open opens (creating if needed) dir/exactql.db with mode 0600, WAL journal,
// a busy timeout and IMMEDIATE transactions, and applies pending migrations.
func Open(dir string, opts ...Option) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Create the file ourselves so SQLite never creates it with the
	// umask's mode; SQLite gives its -wal and -shm files the same mode.
	// The handle stays open: its identity is what CheckIdentity compares
	// with the path's.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// mode=rw: a connection opened later (the pool grows on demand) fails
	// if the file was deleted, instead of creating an empty database.
	q.Set("mode", "rw")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	s := &SQLite{db: db, path: path, file: f, now: time.Now, leaseTTL: DefaultLeaseTTL}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		f.Close()
		return nil, fmt.Errorf("store.Open: %w", err)
	}
	return s, nil
}

// Path returns the database file's path.
func (s *SQLite) Path() string { return s.path }

// DB returns the underlying database for packages that add their own tables
// through migrations.
func (s *SQLite) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *SQLite) Close() error {
	err := s.db.Close()
	if s.file != nil {
		s.file.Close()
	}
	if err != nil {
		return fmt.Errorf("store.Close: %w", err)
	}
	return nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for i, m := range migrations {
		v := i + 1
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`, v, time.Now().UnixMilli())
			return err
		}); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

// inTx runs fn in an IMMEDIATE transaction (the DSN's _txlock), so two
// processes never deadlock upgrading a read to a write.
func (s *SQLite) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// FailWrites installs a fault hook for tests: before each write the hook is
// called with the operation (OpSaveToken, OpLock, …); a non-nil error is
// returned instead of writing. nil removes the hook.
func (s *SQLite) FailWrites(hook func(op string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = hook
}

func (s *SQLite) checkFault(op string) error {
	s.mu.Lock()
	f := s.fault
	s.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f(op); err != nil {
		return fmt.Errorf("injected fault on %s: %w", op, err)
	}
	return nil
}

// Ping checks that the store is writable (for /readyz) by committing an
// update of the heartbeat row, and that its file is still the one at its
// path (CheckIdentity; an error wrapping ErrReplaced otherwise).
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.checkFault(OpPing); err != nil {
		return fmt.Errorf("store.Ping: %w", err)
	}
	if err := s.CheckIdentity(); err != nil {
		return fmt.Errorf("store.Ping: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO heartbeat (id, at_ms) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms`, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store.Ping: %w", err)
	}
	return nil
}

func newOwner() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a time-based
		// owner still distinguishes holders in that case.
		return fmt.Sprintf("t%d", time.Now().UnixNano())
	}
	return hex.EncodeToString(b[:])
}
