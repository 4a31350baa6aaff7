package main

import (
	"context"
	"sync"
	"time"

	"github.com/exactql/exactql/orders"
)

// notifyingJournal tells changed about every write to a buyer's orders in
// the order journal (an accepted order, an attempt's outcome), after the
// write, so the response cache drops that buyer's answers (viewer.orders,
// order) at once. It wraps whatever journal the order service uses.
type notifyingJournal struct {
	orders.Journal
	changed func(account string)

	mu sync.Mutex
	// accounts are the accounts of the records this process accepted or
	// claimed and has not settled yet: Settle names only the gateway ID.
	accounts map[string]string
}

func newNotifyingJournal(j orders.Journal, changed func(account string)) *notifyingJournal {
	return &notifyingJournal{Journal: j, changed: changed, accounts: map[string]string{}}
}

// Accept implements orders.Journal.
func (j *notifyingJournal) Accept(ctx context.Context, rec orders.JournalRecord) (orders.JournalRecord, bool, error) {
	got, created, err := j.Journal.Accept(ctx, rec)
	if err == nil && created {
		j.remember(got.GatewayID, got.Account)
		j.changed(got.Account)
	}
	return got, created, err
}

// Claim implements orders.Journal. A claim changes nothing a buyer sees;
// the account is remembered for the Settle that follows.
func (j *notifyingJournal) Claim(ctx context.Context, gatewayID, owner string, now, until time.Time) (orders.JournalRecord, bool, error) {
	rec, ok, err := j.Journal.Claim(ctx, gatewayID, owner, now, until)
	if err == nil && ok {
		j.remember(rec.GatewayID, rec.Account)
	}
	return rec, ok, err
}

// Settle implements orders.Journal. The buyer is told even when Settle
// failed: the journal may have been written all the same, and a needless
// invalidation costs one recomputed answer.
func (j *notifyingJournal) Settle(ctx context.Context, gatewayID, owner string, s orders.Settlement) error {
	err := j.Journal.Settle(ctx, gatewayID, owner, s)
	j.mu.Lock()
	account, ok := j.accounts[gatewayID]
	delete(j.accounts, gatewayID)
	j.mu.Unlock()
	if !ok {
		if rec, rerr := j.Journal.Record(ctx, gatewayID); rerr == nil {
			account = rec.Account
		}
	}
	if account != "" {
		j.changed(account)
	}
	return err
}

func (j *notifyingJournal) remember(gatewayID, account string) {
	j.mu.Lock()
	j.accounts[gatewayID] = account
	j.mu.Unlock()
}
