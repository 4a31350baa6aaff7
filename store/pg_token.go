package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exactql/exactql/erp"
)

// The refresh lock across replicas is a session-level advisory lock held on
// one pooled connection for the whole refresh (pg_try_advisory_lock, polled
// so the caller's context bounds the wait). Unlike SQLite's lease row it
// needs no expiry: when the holder dies its connection closes and
// PostgreSQL frees the lock at once, so a crashed replica never stalls the
// others' refreshes. The refresh mark is committed on that connection
// before Exact is called (autocommit, outside any transaction, so the lock
// stays held); the result is committed, and only then is the lock freed. A
// connection that leaves with the lock still held (unlock failed) is closed,
// never returned to the pool.

type pgQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func pgLoadToken(ctx context.Context, q pgQueryer) (*erp.StoredToken, error) {
	var t erp.StoredToken
	var exp, started int64
	err := q.QueryRow(ctx, `SELECT access_token, refresh_token, expiry_ms, refresh_started_ms, consent_needed
		FROM oauth_token WHERE id = 1`).Scan(&t.AccessToken, &t.RefreshToken, &exp, &started, &t.ConsentNeeded)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, erp.ErrNoToken
	}
	if err != nil {
		return nil, err
	}
	t.Expiry, t.RefreshStarted = fromMS(exp), fromMS(started)
	return &t, nil
}

const saveTokenSQL = `INSERT INTO oauth_token
	(id, access_token, refresh_token, expiry_ms, refresh_started_ms, consent_needed, updated_ms)
	VALUES (1, $1, $2, $3, $4, $5, $6)
	ON CONFLICT (id) DO UPDATE SET access_token = excluded.access_token,
		refresh_token = excluded.refresh_token, expiry_ms = excluded.expiry_ms,
		refresh_started_ms = excluded.refresh_started_ms,
		consent_needed = excluded.consent_needed, updated_ms = excluded.updated_ms`

func tokenArgs(t *erp.StoredToken, now time.Time) []any {
	return []any{t.AccessToken, t.RefreshToken, ms(t.Expiry), ms(t.RefreshStarted), t.ConsentNeeded, now.UnixMilli()}
}

// LoadToken returns the stored token or erp.ErrNoToken. Every replica reads
// the current access token from the row.
func (p *Postgres) LoadToken(ctx context.Context) (*erp.StoredToken, error) {
	t, err := pgLoadToken(ctx, p.pool)
	if err != nil {
		if errors.Is(err, erp.ErrNoToken) {
			return nil, fmt.Errorf("store.LoadToken: %w", err)
		}
		return nil, p.wrap("store.LoadToken", err)
	}
	return t, nil
}

// SaveToken stores t unconditionally (initial consent, seeding, copy).
func (p *Postgres) SaveToken(ctx context.Context, t *erp.StoredToken) error {
	if t == nil {
		return errors.New("store.SaveToken: nil token")
	}
	if err := p.checkFault(OpSaveToken); err != nil {
		return fmt.Errorf("store.SaveToken: %w", err)
	}
	_, err := p.pool.Exec(ctx, saveTokenSQL, tokenArgs(t, p.now())...)
	return p.wrap("store.SaveToken", err)
}

// WithRefreshLock implements erp.TokenStore across replicas: it takes the
// advisory refresh lock (waiting while another replica holds it), re-reads
// the token, runs fn and commits fn's token together with the unlock.
func (p *Postgres) WithRefreshLock(ctx context.Context, fn func(current *erp.StoredToken, mark func(started time.Time) error) (*erp.StoredToken, error)) error {
	conn, err := p.acquireRefreshLock(ctx)
	if err != nil {
		return fmt.Errorf("store.WithRefreshLock: %w", redactErr(err, p.secret))
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	done := false
	defer func() {
		if !done {
			// fn panicked or a read failed: free the lock now.
			p.releaseRefreshLock(wctx, conn)
		}
	}()

	cur, err := pgLoadToken(ctx, conn)
	if errors.Is(err, erp.ErrNoToken) {
		cur = nil
	} else if err != nil {
		return p.wrap("store.WithRefreshLock", err)
	}
	mark := func(started time.Time) error {
		if err := p.checkFault(OpMark); err != nil {
			return err
		}
		tag, err := conn.Exec(wctx, `UPDATE oauth_token SET refresh_started_ms = $1, updated_ms = $2 WHERE id = 1`,
			ms(started), p.now().UnixMilli())
		if err != nil {
			// The connection (and with it the lock) may be gone.
			return errors.Join(ErrLockLost, redactErr(err, p.secret))
		}
		if tag.RowsAffected() != 1 {
			return ErrLockLost
		}
		return nil
	}
	t, ferr := fn(cur, mark)
	if t != nil {
		cerr := p.commitToken(wctx, conn, t)
		done = true
		if cerr != nil {
			return fmt.Errorf("store.WithRefreshLock: commit: %w", errors.Join(redactErr(cerr, p.secret), ferr))
		}
	} else {
		rerr := p.releaseRefreshLock(wctx, conn)
		done = true
		if rerr != nil && ferr == nil {
			return fmt.Errorf("store.WithRefreshLock: unlock: %w", redactErr(rerr, p.secret))
		}
	}
	if ferr != nil {
		return fmt.Errorf("store.WithRefreshLock: %w", ferr)
	}
	return nil
}

// acquireRefreshLock returns a pooled connection holding the refresh lock,
// polling while another session holds it.
func (p *Postgres) acquireRefreshLock(ctx context.Context) (*pgxpool.Conn, error) {
	delay := 2 * time.Millisecond
	for {
		if err := p.checkFault(OpLock); err != nil {
			return nil, err
		}
		conn, err := p.pool.Acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("take refresh lock: %w", err)
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, p.refreshKey).Scan(&got); err != nil {
			// The lock state of this connection is unknown: never reuse it.
			conn.Conn().Close(context.Background())
			conn.Release()
			return nil, fmt.Errorf("take refresh lock: %w", err)
		}
		if got {
			p.mu.Lock()
			p.lockConn = conn
			p.mu.Unlock()
			return conn, nil
		}
		conn.Release()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for refresh lock: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// commitToken saves t and frees the lock in one transaction on the lock's
// connection. When that connection is gone (the lock with it), t is still
// saved through another connection: a refresh token Exact handed out is
// always the best thing to keep.
func (p *Postgres) commitToken(ctx context.Context, conn *pgxpool.Conn, t *erp.StoredToken) error {
	if err := p.checkFault(OpCommit); err != nil {
		p.dropLockConn(conn)
		return err
	}
	// Session advisory locks are not transactional: an unlock inside the
	// saving transaction would let the next refresher in before the commit
	// is visible, and it would rotate a stale refresh token. So the save
	// commits first (one autocommit statement), the unlock follows.
	_, err := conn.Exec(ctx, saveTokenSQL, tokenArgs(t, p.now())...)
	if err == nil {
		if _, uerr := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, p.refreshKey); uerr != nil {
			p.dropLockConn(conn) // closing the session frees the lock
			return nil
		}
		p.putLockConn(conn)
		return nil
	}
	p.dropLockConn(conn)
	if _, err2 := p.pool.Exec(ctx, saveTokenSQL, tokenArgs(t, p.now())...); err2 != nil {
		return errors.Join(err, err2)
	}
	return nil
}

// releaseRefreshLock frees the lock without writing.
func (p *Postgres) releaseRefreshLock(ctx context.Context, conn *pgxpool.Conn) error {
	if err := p.checkFault(OpUnlock); err != nil {
		p.dropLockConn(conn)
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, p.refreshKey); err != nil {
		p.dropLockConn(conn)
		return err
	}
	p.putLockConn(conn)
	return nil
}

// putLockConn returns an unlocked connection to the pool.
func (p *Postgres) putLockConn(conn *pgxpool.Conn) {
	p.mu.Lock()
	if p.lockConn == conn {
		p.lockConn = nil
	}
	p.mu.Unlock()
	conn.Release()
}

// dropLockConn closes a connection that may still hold the lock, which
// frees it on the server, and lets the pool forget it.
func (p *Postgres) dropLockConn(conn *pgxpool.Conn) {
	p.mu.Lock()
	if p.lockConn == conn {
		p.lockConn = nil
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn.Conn().Close(ctx)
	conn.Release()
}

var _ erp.TokenStore = (*Postgres)(nil)
