package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/store"
	"github.com/google/go-cmp/cmp"
)

// clock is the project's one fake clock.
type clock = erptest.Clock

func newClock() *clock { return erptest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) }

func open(t *testing.T, dir string, c *clock) *store.SQLite {
	t.Helper()
	s, err := store.Open(dir, store.WithClock(c.Now), store.WithLeaseTTL(time.Minute))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenFileMode0600(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s := open(t, dir, newClock())
	if err := s.SaveToken(context.Background(), &erp.StoredToken{RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{store.FileName, store.FileName + "-wal", store.FileName + "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("stat %s: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestOpenTightensExistingFileMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, store.FileName)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	open(t, dir, newClock())
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	ctx := context.Background()
	want := &erp.StoredToken{AccessToken: "a", RefreshToken: "r!1", Expiry: c.Now().Add(10 * time.Minute), ConsentNeeded: ""}
	s1, err := store.Open(dir, store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.LoadToken(ctx); !errors.Is(err, erp.ErrNoToken) {
		t.Errorf("LoadToken on a new store = %v, want ErrNoToken", err)
	}
	if err := s1.SaveToken(ctx, want); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	s2 := open(t, dir, c)
	got, err := s2.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadToken after reopen (-want +got):\n%s", diff)
	}
	var n, max int
	if err := s2.DB().QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != max || n < 1 {
		t.Errorf("schema_migrations has %d rows up to version %d, want each version once", n, max)
	}
	var mode string
	if err := s2.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestRefreshLockExcludesOtherProcessUntilReleased(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s1, s2 := open(t, dir, c), open(t, dir, c)
	ctx := context.Background()
	if err := s1.SaveToken(ctx, &erp.StoredToken{AccessToken: "a0", RefreshToken: "r0"}); err != nil {
		t.Fatal(err)
	}
	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s1.WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
			if err := mark(c.Now()); err != nil {
				return nil, err
			}
			close(inside)
			<-release
			return &erp.StoredToken{AccessToken: "a1", RefreshToken: "r1", Expiry: c.Now().Add(time.Minute)}, nil
		})
	}()
	<-inside
	// While s1 holds the lock, s2 cannot get it, however long it tries
	// within its deadline.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := s2.WithRefreshLock(short, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) {
		t.Error("fn ran while another process held the lock")
		return nil, nil
	})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WithRefreshLock while held = %v, want deadline exceeded", err)
	}
	// The mark is visible to others while the refresh runs.
	if st, err := s2.LoadToken(ctx); err != nil || st.RefreshStarted.IsZero() {
		t.Errorf("LoadToken during refresh = %+v, %v; want the mark set", st, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// s2 now gets the lock and sees s1's result, mark cleared.
	var seen *erp.StoredToken
	if err := s2.WithRefreshLock(ctx, func(cur *erp.StoredToken, _ func(time.Time) error) (*erp.StoredToken, error) {
		seen = cur
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen == nil || seen.RefreshToken != "r1" || !seen.RefreshStarted.IsZero() {
		t.Errorf("s2 saw %+v, want r1 without a mark", seen)
	}
}

func TestRefreshLockOfCrashedHolderExpires(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	s1, s2 := open(t, dir, c), open(t, dir, c)
	ctx := context.Background()
	if err := s1.SaveToken(ctx, &erp.StoredToken{RefreshToken: "r0"}); err != nil {
		t.Fatal(err)
	}
	// s1 "dies" holding the lock: neither commit nor unlock reach the file.
	s1.FailWrites(func(op string) error {
		if op == store.OpCommit || op == store.OpUnlock {
			return errors.New("killed")
		}
		return nil
	})
	err := s1.WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
		return &erp.StoredToken{RefreshToken: "r1"}, mark(c.Now())
	})
	if err == nil {
		t.Fatal("WithRefreshLock with a failing commit = nil, want an error")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = s2.WithRefreshLock(short, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) { return nil, nil })
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lock before the lease ran out = %v, want deadline exceeded", err)
	}
	c.Advance(time.Minute)
	var seen *erp.StoredToken
	if err := s2.WithRefreshLock(ctx, func(cur *erp.StoredToken, _ func(time.Time) error) (*erp.StoredToken, error) {
		seen = cur
		return nil, nil
	}); err != nil {
		t.Fatalf("lock after the lease ran out: %v", err)
	}
	if seen.RefreshToken != "r0" || seen.RefreshStarted.IsZero() {
		t.Errorf("after crash saw %+v, want r0 with the mark still set", seen)
	}
}

func TestRefreshLockCommitsTokenReturnedWithError(t *testing.T) {
	s := open(t, t.TempDir(), newClock())
	ctx, cancel := context.WithCancel(context.Background())
	boom := errors.New("exact said no")
	err := s.WithRefreshLock(ctx, func(cur *erp.StoredToken, _ func(time.Time) error) (*erp.StoredToken, error) {
		if cur != nil {
			t.Errorf("current on an empty store = %+v, want nil", cur)
		}
		cancel() // the caller gave up meanwhile: the commit still happens
		return &erp.StoredToken{RefreshToken: "r-from-error"}, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("WithRefreshLock = %v, want fn's error", err)
	}
	st, err := s.LoadToken(context.Background())
	if err != nil || st.RefreshToken != "r-from-error" {
		t.Errorf("stored = %+v, %v; want the token fn returned", st, err)
	}
}

func TestMarkNeedsAToken(t *testing.T) {
	s := open(t, t.TempDir(), newClock())
	err := s.WithRefreshLock(context.Background(), func(_ *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
		return nil, mark(time.Now())
	})
	if !errors.Is(err, store.ErrLockLost) {
		t.Errorf("mark on an empty store = %v, want ErrLockLost", err)
	}
}

func TestFailWritesAndPing(t *testing.T) {
	s := open(t, t.TempDir(), newClock())
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	disk := errors.New("disk full")
	s.FailWrites(func(string) error { return disk })
	if err := s.Ping(ctx); !errors.Is(err, disk) {
		t.Errorf("Ping with failing writes = %v, want the fault", err)
	}
	if err := s.SaveToken(ctx, &erp.StoredToken{RefreshToken: "r"}); !errors.Is(err, disk) {
		t.Errorf("SaveToken with failing writes = %v, want the fault", err)
	}
	if err := s.WithRefreshLock(ctx, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) { return nil, nil }); !errors.Is(err, disk) {
		t.Errorf("WithRefreshLock with failing writes = %v, want the fault", err)
	}
	s.FailWrites(nil)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping after clearing the fault: %v", err)
	}
	if err := s.SaveToken(ctx, nil); err == nil {
		t.Error("SaveToken(nil) = nil, want an error")
	}
}
