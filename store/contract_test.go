package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/store"
)

// The store contract: every test below runs against both backends, the
// embedded SQLite file and PostgreSQL. Two handles on one database stand for
// two gateway replicas (or processes). PostgreSQL runs only with
// EXACTQL_TEST_DATABASE_URL set (.ci/postgres.sh prints one); each test gets
// its own schema, dropped afterwards, so packages can run in parallel.

const pgEnv = "EXACTQL_TEST_DATABASE_URL"

const pgHow = "PostgreSQL store tests skipped: set " + pgEnv +
	"=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (bash .ci/postgres.sh starts PostgreSQL and prints it)"

func TestMain(m *testing.M) {
	if os.Getenv(pgEnv) == "" && os.Getenv("CI") != "true" {
		fmt.Println("store: " + pgHow)
	}
	os.Exit(m.Run())
}

// pgURL returns the test database URL, skipping the test without one (a
// failure under CI=true: CI must run them).
func pgURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(pgEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: run `bash .ci/postgres.sh` and export what it prints", pgEnv)
		}
		t.Skip(pgEnv + " not set")
	}
	return u
}

// pgSchema creates a schema name for t and drops the schema after the test.
func pgSchema(t *testing.T, url string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "exactql_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func openPG(t *testing.T, url, schema string, c *clock) *store.Postgres {
	t.Helper()
	p, err := store.OpenPostgres(context.Background(), url, store.PostgresOptions{Now: c.Now, Schema: schema})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	// Registered after pgSchema's cleanup, so it runs before the drop.
	t.Cleanup(func() { p.Close() })
	return p
}

// contractStore is everything the consumers need from a store.
type contractStore interface {
	erp.TokenStore
	orders.Journal
	erp.BudgetStore
	Ping(ctx context.Context) error
	FailWrites(hook func(op string) error)
	Close() error
	Secret(ctx context.Context, name string, size int) ([]byte, error)
}

type backend struct {
	name string
	// open returns n handles on one fresh database.
	open func(t *testing.T, c *clock, n int) []contractStore
	// crash makes h behave as a process that died while holding the
	// refresh lock (inside fn, after its mark).
	crash func(t *testing.T, c *clock, h contractStore)
}

var backends = []backend{
	{
		name: "sqlite",
		open: func(t *testing.T, c *clock, n int) []contractStore {
			dir := t.TempDir()
			out := make([]contractStore, n)
			for i := range out {
				out[i] = open(t, dir, c) // lease TTL one minute
			}
			return out
		},
		crash: func(t *testing.T, c *clock, h contractStore) {
			// Neither its commit nor its unlock will reach the file; its
			// lease runs out.
			h.FailWrites(func(op string) error {
				if op == store.OpCommit || op == store.OpUnlock {
					return errors.New("killed")
				}
				return nil
			})
			c.Advance(time.Minute)
		},
	},
	{
		name: "postgres",
		open: func(t *testing.T, c *clock, n int) []contractStore {
			url := pgURL(t)
			schema := pgSchema(t, url)
			out := make([]contractStore, n)
			for i := range out {
				out[i] = openPG(t, url, schema, c)
			}
			return out
		},
		crash: func(t *testing.T, c *clock, h contractStore) {
			if err := store.KillRefreshHolder(context.Background(), h.(*store.Postgres)); err != nil {
				t.Fatalf("kill the lock holder: %v", err)
			}
		},
	},
}

// forBackends runs f as one subtest per backend.
func forBackends(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func TestPostgresContractTokenRoundTrip(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		c := newClock()
		h := b.open(t, c, 2)
		ctx := context.Background()
		if _, err := h[0].LoadToken(ctx); !errors.Is(err, erp.ErrNoToken) {
			t.Fatalf("LoadToken on a new store = %v, want ErrNoToken", err)
		}
		want := &erp.StoredToken{AccessToken: "a", RefreshToken: "r'1\"", Expiry: c.Now().Add(10 * time.Minute),
			RefreshStarted: c.Now(), ConsentNeeded: "why"}
		if err := h[0].SaveToken(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := h[1].LoadToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the other replica reads (-want +got):\n%s", diff)
		}
		if err := h[1].SaveToken(ctx, nil); err == nil {
			t.Error("SaveToken(nil) = nil, want an error")
		}
		if err := h[0].Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
}

func TestPostgresContractRefreshLockSingleRefresher(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		c := newClock()
		h := b.open(t, c, 2)
		ctx := context.Background()
		if err := h[0].SaveToken(ctx, &erp.StoredToken{AccessToken: "a0", RefreshToken: "r0"}); err != nil {
			t.Fatal(err)
		}
		inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- h[0].WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
				if err := mark(c.Now()); err != nil {
					return nil, err
				}
				close(inside)
				<-release
				return &erp.StoredToken{AccessToken: "a1", RefreshToken: "r1", Expiry: c.Now().Add(time.Minute)}, nil
			})
		}()
		<-inside
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := h[1].WithRefreshLock(short, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) {
			t.Error("fn ran while another replica held the lock")
			return nil, nil
		})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WithRefreshLock while held = %v, want deadline exceeded", err)
		}
		if st, err := h[1].LoadToken(ctx); err != nil || st.RefreshStarted.IsZero() || st.RefreshToken != "r0" {
			t.Errorf("LoadToken during the refresh = %+v, %v; want r0 with the mark set", st, err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The rotated pair is committed when WithRefreshLock returns: every
		// replica reads it, mark cleared.
		st, err := h[1].LoadToken(ctx)
		if err != nil || st.AccessToken != "a1" || st.RefreshToken != "r1" || !st.RefreshStarted.IsZero() {
			t.Errorf("after the refresh the other replica reads %+v, %v; want a1/r1 without a mark", st, err)
		}
	})
}

// Many refreshers on two replicas: each runs alone and sees the pair its
// predecessor committed, so no rotation is ever lost.
func TestPostgresContractRefreshChainUnderContention(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		c := newClock()
		h := b.open(t, c, 2)
		ctx := context.Background()
		if err := h[0].SaveToken(ctx, &erp.StoredToken{RefreshToken: "r0"}); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var inside, maxInside atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := h[i%2].WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
					now := inside.Add(1)
					defer inside.Add(-1)
					if now > maxInside.Load() {
						maxInside.Store(now)
					}
					if err := mark(c.Now()); err != nil {
						return nil, err
					}
					var k int
					if _, err := fmt.Sscanf(cur.RefreshToken, "r%d", &k); err != nil {
						return nil, err
					}
					return &erp.StoredToken{AccessToken: fmt.Sprintf("a%d", k+1), RefreshToken: fmt.Sprintf("r%d", k+1)}, nil
				})
				if err != nil {
					t.Errorf("refresh %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if m := maxInside.Load(); m != 1 {
			t.Errorf("%d refreshers ran at once, want 1", m)
		}
		st, err := h[0].LoadToken(ctx)
		if err != nil || st.RefreshToken != fmt.Sprintf("r%d", n) {
			t.Errorf("final token %+v, %v; want r%d (every rotation kept)", st, err, n)
		}
	})
}

// A replica dies between its mark and its commit: the others get the lock
// and see the mark, so the token source handles the interrupted refresh
// (tries the stored token once, records consent-needed if Exact says it was
// used).
func TestPostgresContractInterruptedRefresh(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		c := newClock()
		h := b.open(t, c, 2)
		ctx := context.Background()
		if err := h[0].SaveToken(ctx, &erp.StoredToken{RefreshToken: "r0"}); err != nil {
			t.Fatal(err)
		}
		inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- h[0].WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
				if err := mark(c.Now()); err != nil {
					return nil, err
				}
				close(inside)
				<-release
				return nil, errors.New("killed")
			})
		}()
		<-inside
		b.crash(t, c, h[0])
		var seen *erp.StoredToken
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := h[1].WithRefreshLock(wctx, func(cur *erp.StoredToken, _ func(time.Time) error) (*erp.StoredToken, error) {
			seen = cur
			return nil, nil
		}); err != nil {
			t.Fatalf("lock after the holder died: %v", err)
		}
		if seen == nil || seen.RefreshToken != "r0" || seen.RefreshStarted.IsZero() {
			t.Errorf("after the crash saw %+v, want r0 with the mark still set", seen)
		}
		close(release)
		if err := <-done; err == nil {
			t.Error("the dead holder's WithRefreshLock = nil, want an error")
		}
		// The lock is free again for everyone.
		if err := h[1].WithRefreshLock(wctx, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) { return nil, nil }); err != nil {
			t.Errorf("lock afterwards: %v", err)
		}
	})
}

func TestPostgresContractCommitsTokenReturnedWithError(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		h := b.open(t, newClock(), 1)
		ctx, cancel := context.WithCancel(context.Background())
		boom := errors.New("exact said no")
		err := h[0].WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
			if cur != nil {
				t.Errorf("current on an empty store = %+v, want nil", cur)
			}
			if err := mark(time.Now()); !errors.Is(err, store.ErrLockLost) {
				t.Errorf("mark on an empty store = %v, want ErrLockLost", err)
			}
			cancel() // the caller gave up meanwhile: the commit still happens
			return &erp.StoredToken{RefreshToken: "r-from-error"}, boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("WithRefreshLock = %v, want fn's error", err)
		}
		st, err := h[0].LoadToken(context.Background())
		if err != nil || st.RefreshToken != "r-from-error" {
			t.Errorf("stored = %+v, %v; want the token fn returned", st, err)
		}
	})
}

func TestPostgresContractWriteFaults(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		h := b.open(t, newClock(), 1)[0]
		ctx := context.Background()
		disk := errors.New("disk full")
		h.FailWrites(func(string) error { return disk })
		if err := h.Ping(ctx); !errors.Is(err, disk) {
			t.Errorf("Ping = %v, want the fault", err)
		}
		if err := h.SaveToken(ctx, &erp.StoredToken{RefreshToken: "r"}); !errors.Is(err, disk) {
			t.Errorf("SaveToken = %v, want the fault", err)
		}
		if err := h.WithRefreshLock(ctx, func(*erp.StoredToken, func(time.Time) error) (*erp.StoredToken, error) { return nil, nil }); !errors.Is(err, disk) {
			t.Errorf("WithRefreshLock = %v, want the fault", err)
		}
		if _, _, err := h.Accept(ctx, rec("g1", "k1", jt0)); !errors.Is(err, disk) {
			t.Errorf("Accept = %v, want the fault", err)
		}
		if err := h.UpdateBudget(ctx, 1, func(*erp.BudgetRow) (*erp.BudgetRow, error) { return nil, nil }); !errors.Is(err, disk) {
			t.Errorf("UpdateBudget = %v, want the fault", err)
		}
		h.FailWrites(nil)
		if _, err := h.ByKey(ctx, acctA, "k1"); !errors.Is(err, orders.ErrNoRecord) {
			t.Errorf("a failed Accept left a record (%v)", err)
		}
		if _, err := h.LoadToken(ctx); !errors.Is(err, erp.ErrNoToken) {
			t.Errorf("a failed SaveToken left a token (%v)", err)
		}
		if _, created, err := h.Accept(ctx, rec("g1", "k1", jt0)); err != nil || !created {
			t.Errorf("Accept after the fault = %v, %v", created, err)
		}
	})
}

// 20 concurrent Accepts with one key over two replicas: the unique key
// decides, exactly one order is created and everyone gets it.
func TestPostgresContractIdempotencyRace(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		h := b.open(t, newClock(), 2)
		ctx := context.Background()
		const n = 20
		var wg sync.WaitGroup
		ids := make([]string, n)
		created := make([]bool, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, c, err := h[i%2].Accept(ctx, rec(fmt.Sprintf("g%d", i), "same", jt0))
				if err != nil {
					t.Errorf("Accept %d: %v", i, err)
					return
				}
				ids[i], created[i] = got.GatewayID, c
			}()
		}
		wg.Wait()
		count := 0
		for i := range n {
			if created[i] {
				count++
			}
			if ids[i] != ids[0] {
				t.Errorf("Accept %d got %s; want %s", i, ids[i], ids[0])
			}
		}
		if count != 1 {
			t.Errorf("%d records created; want 1", count)
		}
		all, err := h[1].ByAccount(ctx, acctA)
		if err != nil || len(all) != 1 {
			t.Errorf("journal holds %d records, %v; want 1", len(all), err)
		}
		// The same key of another account is another order.
		other := rec("g-other", "same", jt0)
		other.Account = "bbbbbbbb-0000-4000-8000-000000000002"
		if _, c, err := h[0].Accept(ctx, other); err != nil || !c {
			t.Errorf("Accept(other account, same key) = %v, %v; want created", c, err)
		}
	})
}

func TestPostgresContractJournalLeases(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		h := b.open(t, newClock(), 2)
		s1, s2 := h[0], h[1]
		ctx := context.Background()
		r := rec("g1", "k1", jt0)
		if _, _, err := s1.Accept(ctx, r); err != nil {
			t.Fatal(err)
		}
		back, err := s2.Record(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, back); diff != "" {
			t.Errorf("the other replica reads (-want +got):\n%s", diff)
		}
		if _, ok, err := s2.Claim(ctx, "g1", "w2", jt0.Add(time.Second), jt0.Add(time.Minute)); err != nil || ok {
			t.Fatalf("Claim during the placer's lease = %v, %v; want refused", ok, err)
		}
		if err := s2.Settle(ctx, "g1", "w2", orders.Settlement{State: orders.StatePending, At: jt0}); !errors.Is(err, orders.ErrLeaseLost) {
			t.Errorf("Settle(pending) by a non-holder = %v; want ErrLeaseLost", err)
		}
		next := jt0.Add(30 * time.Second)
		if err := s1.Settle(ctx, "g1", "placer", orders.Settlement{State: orders.StatePending, LastError: "503", NextAttempt: next, At: jt0}); err != nil {
			t.Fatalf("Settle(pending): %v", err)
		}
		if due, _ := s2.Due(ctx, next.Add(-time.Millisecond), 10); len(due) != 0 {
			t.Errorf("due before its next attempt")
		}
		// Workers on both replicas race for the due order: exactly one wins.
		const n = 12
		var wg sync.WaitGroup
		var wins atomic.Int32
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := h[i%2].Claim(ctx, "g1", fmt.Sprintf("w%d", i), next, next.Add(time.Minute))
				if err != nil {
					t.Errorf("Claim %d: %v", i, err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			t.Fatalf("%d workers claimed one order; want 1", w)
		}
		cur, err := s1.Record(ctx, "g1")
		if err != nil || cur.Attempts != 2 || !cur.FirstAttempt.Equal(jt0) {
			t.Errorf("after the claim = %+v, %v; want attempt 2, first attempt kept", cur, err)
		}
		holder := cur.LeaseOwner
		// The holder dies; after its lease another replica takes it over.
		later := next.Add(time.Minute + time.Millisecond)
		if due, _ := s2.Due(ctx, next.Add(time.Second), 10); len(due) != 0 {
			t.Errorf("a leased order is due")
		}
		if due, _ := s2.Due(ctx, later, 10); len(due) != 1 {
			t.Fatalf("an expired lease is not due")
		}
		got, ok, err := s2.Claim(ctx, "g1", "taker", later, later.Add(time.Minute))
		if err != nil || !ok || got.LeaseOwner != "taker" || got.Attempts != 3 {
			t.Fatalf("Claim after the lease = %+v, %v, %v; want taken over as attempt 3", got, ok, err)
		}
		// A written outcome is recorded even from the old holder, and is final.
		if err := s1.Settle(ctx, "g1", holder, orders.Settlement{State: orders.StateWritten, ExactID: "e1", OrderNumber: 42, At: later}); err != nil {
			t.Fatalf("Settle(written): %v", err)
		}
		if err := s2.Settle(ctx, "g1", "taker", orders.Settlement{State: orders.StateRejected, RejectionReason: "late", At: later}); err != nil {
			t.Fatalf("Settle after written: %v", err)
		}
		final, err := s2.Record(ctx, "g1")
		if err != nil || final.State != orders.StateWritten || final.ExactID != "e1" || final.OrderNumber != 42 || final.LeaseOwner != "" {
			t.Errorf("Record = %+v, %v; want written e1/42 without a lease", final, err)
		}
		if _, ok, _ := s1.Claim(ctx, "g1", "w3", later.Add(time.Hour), later.Add(2*time.Hour)); ok {
			t.Errorf("a written order was claimable")
		}
		if sum, err := s2.Pending(ctx); err != nil || sum.Count != 0 || !sum.Oldest.IsZero() {
			t.Errorf("Pending = %+v, %v; want none", sum, err)
		}
		if _, err := s1.Record(ctx, "nope"); !errors.Is(err, orders.ErrNoRecord) {
			t.Errorf("Record(unknown) = %v; want ErrNoRecord", err)
		}
	})
}

func TestPostgresContractJournalQueries(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		s := b.open(t, newClock(), 1)[0]
		ctx := context.Background()
		for i, st := range []string{orders.StatePending, orders.StateRejected, orders.StatePending, orders.StateWritten} {
			r := rec(fmt.Sprintf("g%d", i), fmt.Sprintf("k%d", i), jt0.Add(time.Duration(i)*time.Second))
			r.LeaseOwner, r.LeaseUntil = "", time.Time{}
			if _, _, err := s.Accept(ctx, r); err != nil {
				t.Fatal(err)
			}
			if st != orders.StatePending {
				if err := s.Settle(ctx, r.GatewayID, "", orders.Settlement{State: st, At: jt0}); err != nil {
					t.Fatal(err)
				}
			}
		}
		ids := func(rs []orders.JournalRecord) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.GatewayID)
			}
			return out
		}
		got, err := s.ByAccount(ctx, acctA, orders.StatePending, orders.StateRejected)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"g2", "g1", "g0"}, ids(got)); diff != "" {
			t.Errorf("ByAccount(pending, rejected) newest first (-want +got):\n%s", diff)
		}
		if all, _ := s.ByAccount(ctx, acctA); len(all) != 4 {
			t.Errorf("ByAccount() = %d records; want 4", len(all))
		}
		due, err := s.Due(ctx, jt0.Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"g0", "g2"}, ids(due)); diff != "" {
			t.Errorf("Due oldest first (-want +got):\n%s", diff)
		}
		if due, _ := s.Due(ctx, jt0.Add(time.Hour), 1); len(due) != 1 {
			t.Errorf("Due(limit 1) = %d records", len(due))
		}
		sum, err := s.Pending(ctx)
		if err != nil || sum.Count != 2 || !sum.Oldest.Equal(jt0) {
			t.Errorf("Pending = %+v, %v; want 2, oldest %s", sum, err, jt0)
		}
	})
}

// admitAll runs the admissions concurrently, alternating replicas, and
// counts what was admitted per priority.
func admitAll(t *testing.T, ledgers []*erp.SharedBudget, division int, now time.Time, reads, writes int) (gotReads, gotWrites int) {
	t.Helper()
	var wg sync.WaitGroup
	var r, w atomic.Int32
	total := reads + writes
	ps := make([]erp.Priority, total)
	for i := range ps {
		ps[i] = erp.PriorityInteractive
	}
	for j := range writes {
		ps[j*total/writes] = erp.PriorityWrite // spread over the run
	}
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := ledgers[i%len(ledgers)].Admit(context.Background(), division, p, now)
			if err != nil {
				t.Errorf("Admit: %v", err)
				return
			}
			if d.OK && p == erp.PriorityWrite {
				w.Add(1)
			} else if d.OK {
				r.Add(1)
			} else if !d.RetryAt.After(now) {
				t.Errorf("refused with RetryAt %s, not after now %s", d.RetryAt, now)
			}
		}()
	}
	wg.Wait()
	return int(r.Load()), int(w.Load())
}

// Many admitters on two replicas share one division's budget: never more
// admitted than the limit in a window, reads leave the write reserve, and a
// 429 seen by one replica stops the other.
func TestPostgresContractSharedBudget(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		c := newClock()
		h := b.open(t, c, 2)
		ctx := context.Background()
		opts := erp.GovernorOptions{MinuteLimit: 60, DayLimit: 5000} // reserve 10%: 6 a minute, 500 a day
		ledgers := []*erp.SharedBudget{erp.NewSharedBudget(h[0], opts), erp.NewSharedBudget(h[1], opts)}
		const div = 4711
		now := c.Now()
		// Writes counted below are a subset; 100 reads and 10 writes ask.
		reads, writes := admitAll(t, ledgers, div, now, 100, 10)
		if reads+writes > 60 {
			t.Errorf("admitted %d reads + %d writes in one minute; limit 60", reads, writes)
		}
		if reads > 54 {
			t.Errorf("admitted %d reads; reads must leave the write reserve of 6", reads)
		}
		if writes < 6 {
			t.Errorf("admitted %d of 10 writes; the reserve guarantees 6", writes)
		}
		var row *erp.BudgetRow
		if err := h[1].UpdateBudget(ctx, div, func(cur *erp.BudgetRow) (*erp.BudgetRow, error) { row = cur; return nil, nil }); err != nil {
			t.Fatal(err)
		}
		if row == nil || row.MinuteRemaining != 60-reads-writes || row.InFlight != reads+writes || row.DayRemaining != 5000-reads-writes {
			t.Errorf("row = %+v; want %d left this minute and %d in flight", row, 60-reads-writes, reads+writes)
		}
		d, err := ledgers[0].Admit(ctx, div, erp.PriorityInteractive, now)
		if err != nil || d.OK || !d.Minutely {
			t.Errorf("read in a spent minute = %+v, %v; want refused for the minute", d, err)
		}
		for range reads + writes {
			if err := ledgers[1].Release(ctx, div, now); err != nil {
				t.Fatal(err)
			}
		}
		// Exact answers 429 to one replica: the other sends nothing until
		// the announced reset.
		reset := now.Add(30 * time.Second)
		hdr := map[string][]string{
			"X-Ratelimit-Minutely-Limit":     {"60"},
			"X-Ratelimit-Minutely-Remaining": {"0"},
			"X-Ratelimit-Minutely-Reset":     {fmt.Sprint(reset.UnixMilli())},
		}
		c.Advance(2 * time.Minute)
		now = c.Now()
		reset = now.Add(30 * time.Second)
		hdr["X-Ratelimit-Minutely-Reset"] = []string{fmt.Sprint(reset.UnixMilli())}
		if err := ledgers[0].Reconcile(ctx, div, hdr, 429, now); err != nil {
			t.Fatal(err)
		}
		if d, err := ledgers[1].Admit(ctx, div, erp.PriorityWrite, now.Add(10*time.Second)); err != nil || d.OK || d.RetryAt.Before(reset) {
			t.Errorf("write during the 429 block = %+v, %v; want refused until %s", d, err, reset)
		}
		if d, err := ledgers[1].Admit(ctx, div, erp.PriorityWrite, reset.Add(2*time.Second)); err != nil || !d.OK {
			t.Errorf("write after the block = %+v, %v; want admitted", d, err)
		}

		// The day: 100 calls, reserve 10 for writes, across both replicas.
		dopts := erp.GovernorOptions{MinuteLimit: 1000, DayLimit: 100}
		dl := []*erp.SharedBudget{erp.NewSharedBudget(h[0], dopts), erp.NewSharedBudget(h[1], dopts)}
		reads, writes = admitAll(t, dl, div+1, now, 150, 20)
		if reads+writes > 100 || reads > 90 || writes < 10 {
			t.Errorf("day budget admitted %d reads + %d writes; want at most 100, reads at most 90, writes at least 10", reads, writes)
		}
	})
}

// TestPostgresContractSecretShared: every handle (replica) gets the same
// named secret, created once.
func TestPostgresContractSecretShared(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			c := newClock()
			hs := b.open(t, c, 2)
			ctx := context.Background()
			a, err := hs[0].Secret(ctx, "orders-cursor", 32)
			if err != nil {
				t.Fatalf("Secret: %v", err)
			}
			bb, err := hs[1].Secret(ctx, "orders-cursor", 32)
			if err != nil {
				t.Fatalf("Secret (second handle): %v", err)
			}
			if string(a) != string(bb) || len(a) != 32 {
				t.Fatalf("handles got different secrets (%d and %d bytes)", len(a), len(bb))
			}
			other, err := hs[1].Secret(ctx, "other", 32)
			if err != nil || string(other) == string(a) {
				t.Fatalf("a second name must get its own secret (err %v)", err)
			}
		})
	}
}
