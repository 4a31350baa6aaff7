package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exactql/exactql/erp"
)

// The cross-process refresh lock is a lease row (refresh_lease) taken with a
// compare-and-swap UPDATE, not a BEGIN IMMEDIATE transaction held while Exact
// is called. Reasons:
//
//   - Crash detection needs a mark (oauth_token.refresh_started_ms) that is
//     committed before Exact is called. Committing ends a transaction and so
//     releases SQLite's write lock; a transaction-held lock and a separately
//     committed mark cannot coexist on one file.
//   - Holding SQLite's write lock for a network round trip would block every
//     other writer (idempotency records, order journal) for that long.
//
// A lease expires after leaseTTL (measured with the store's clock), so a
// holder that crashed never keeps it forever; the token source's refresh
// timeout is shorter than the lease, so a live holder does not lose it.
// Results are committed even if the lease was lost meanwhile: a refresh token
// Exact handed out is always the best thing to keep.

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadToken(ctx context.Context, q queryer) (*erp.StoredToken, error) {
	var t erp.StoredToken
	var exp, started int64
	err := q.QueryRowContext(ctx, `SELECT access_token, refresh_token, expiry_ms, refresh_started_ms, consent_needed
		FROM oauth_token WHERE id = 1`).Scan(&t.AccessToken, &t.RefreshToken, &exp, &started, &t.ConsentNeeded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erp.ErrNoToken
	}
	if err != nil {
		return nil, err
	}
	t.Expiry, t.RefreshStarted = fromMS(exp), fromMS(started)
	return &t, nil
}

// LoadToken returns the stored token or erp.ErrNoToken.
func (s *SQLite) LoadToken(ctx context.Context) (*erp.StoredToken, error) {
	t, err := loadToken(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("store.LoadToken: %w", err)
	}
	return t, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func saveToken(ctx context.Context, x execer, t *erp.StoredToken, now time.Time) error {
	_, err := x.ExecContext(ctx, `INSERT INTO oauth_token
		(id, access_token, refresh_token, expiry_ms, refresh_started_ms, consent_needed, updated_ms)
		VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET access_token = excluded.access_token,
			refresh_token = excluded.refresh_token, expiry_ms = excluded.expiry_ms,
			refresh_started_ms = excluded.refresh_started_ms,
			consent_needed = excluded.consent_needed, updated_ms = excluded.updated_ms`,
		t.AccessToken, t.RefreshToken, ms(t.Expiry), ms(t.RefreshStarted), t.ConsentNeeded, now.UnixMilli())
	return err
}

// SaveToken stores t unconditionally (initial consent, seeding).
func (s *SQLite) SaveToken(ctx context.Context, t *erp.StoredToken) error {
	if t == nil {
		return errors.New("store.SaveToken: nil token")
	}
	if err := s.checkFault(OpSaveToken); err != nil {
		return fmt.Errorf("store.SaveToken: %w", err)
	}
	if err := saveToken(ctx, s.db, t, s.now()); err != nil {
		return fmt.Errorf("store.SaveToken: %w", err)
	}
	return nil
}

// commitTimeout bounds committing a result after fn returned; that commit
// does not follow the caller's cancellation, since losing a rotated refresh
// token costs a new consent.
const commitTimeout = 30 * time.Second

// WithRefreshLock implements erp.TokenStore: it takes the refresh lease
// (waiting while another live holder has it), re-reads the token, runs fn and
// commits fn's token together with releasing the lease.
func (s *SQLite) WithRefreshLock(ctx context.Context, fn func(current *erp.StoredToken, mark func(started time.Time) error) (*erp.StoredToken, error)) (err error) {
	owner := newOwner()
	if err := s.acquire(ctx, owner); err != nil {
		return fmt.Errorf("store.WithRefreshLock: %w", err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	released := false
	defer func() {
		if !released {
			// fn panicked or a read failed: free the lease now rather than
			// after its TTL. A failure here only delays the next refresh.
			_ = s.release(wctx, owner)
		}
	}()

	cur, err := loadToken(ctx, s.db)
	if errors.Is(err, erp.ErrNoToken) {
		cur = nil
	} else if err != nil {
		return fmt.Errorf("store.WithRefreshLock: %w", err)
	}
	mark := func(started time.Time) error {
		if err := s.checkFault(OpMark); err != nil {
			return err
		}
		res, err := s.db.ExecContext(wctx, `UPDATE oauth_token SET refresh_started_ms = ?, updated_ms = ?
			WHERE id = 1 AND EXISTS (SELECT 1 FROM refresh_lease WHERE id = 1 AND owner = ?)`,
			ms(started), s.now().UnixMilli(), owner)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrLockLost
		}
		return nil
	}
	t, ferr := fn(cur, mark)
	if t != nil {
		cerr := s.commit(wctx, owner, t)
		released = cerr == nil
		if cerr != nil {
			return fmt.Errorf("store.WithRefreshLock: commit: %w", errors.Join(cerr, ferr))
		}
	} else {
		rerr := s.release(wctx, owner)
		released = true
		if rerr != nil && ferr == nil {
			return fmt.Errorf("store.WithRefreshLock: unlock: %w", rerr)
		}
	}
	if ferr != nil {
		return fmt.Errorf("store.WithRefreshLock: %w", ferr)
	}
	return nil
}

func (s *SQLite) commit(ctx context.Context, owner string, t *erp.StoredToken) error {
	if err := s.checkFault(OpCommit); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveToken(ctx, tx, t, s.now()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE refresh_lease SET owner = '', until_ms = 0 WHERE id = 1 AND owner = ?`, owner)
		return err
	})
}

func (s *SQLite) release(ctx context.Context, owner string) error {
	if err := s.checkFault(OpUnlock); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE refresh_lease SET owner = '', until_ms = 0 WHERE id = 1 AND owner = ?`, owner)
	return err
}

// acquire takes the lease for owner, polling while someone else holds an
// unexpired one.
func (s *SQLite) acquire(ctx context.Context, owner string) error {
	delay := 2 * time.Millisecond
	for {
		if err := s.checkFault(OpLock); err != nil {
			return err
		}
		now := s.now()
		res, err := s.db.ExecContext(ctx, `UPDATE refresh_lease SET owner = ?, until_ms = ?
			WHERE id = 1 AND (owner = '' OR until_ms <= ?)`, owner, now.Add(s.leaseTTL).UnixMilli(), now.UnixMilli())
		if err != nil {
			return fmt.Errorf("take refresh lock: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("take refresh lock: %w", err)
		} else if n == 1 {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for refresh lock: %w", ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

var _ erp.TokenStore = (*SQLite)(nil)
