package orders

import (
	"context"
	"errors"
	"time"
)

// Journal states of an order (JournalRecord.State).
const (
	// StatePending: accepted by the gateway, not (known to be) in Exact yet.
	// A record in this state with a live lease is being sent right now.
	StatePending = "pending"
	// StateWritten: Exact created the order (ExactID, OrderNumber set).
	StateWritten = "written"
	// StateRejected: Exact refused the order (RejectionReason set); final.
	StateRejected = "rejected"
)

// ErrNoRecord is returned by a Journal for a gateway order ID or an
// idempotency key it has no record of.
var ErrNoRecord = errors.New("orders: no journal record")

// ErrLeaseLost is returned by Journal.Settle for a pending outcome when the
// caller no longer holds the record's lease (another worker took it over).
var ErrLeaseLost = errors.New("orders: journal lease lost")

// JournalRecord is one order in the durable journal together with its
// idempotency key (ARCHITECTURE §6.3–6.4). Times are instants; the zero
// time means "not set".
type JournalRecord struct {
	// GatewayID is the gateway's order ID, a random UUID v4.
	GatewayID string
	// Account is the buyer's Exact account ID (lower case); it scopes the
	// idempotency key.
	Account        string
	IdempotencyKey string
	// Fingerprint is validate.Fingerprint of the input.
	Fingerprint string
	// State is StatePending, StateWritten or StateRejected.
	State string
	// Doc is the order as the orders package serialised it (the POST body
	// and what to show while PENDING); the journal stores it as is.
	Doc             []byte
	ExactID         string
	OrderNumber     int
	RejectionReason string
	// Attempts counts POST attempts started (claims).
	Attempts  int
	LastError string
	// Created is when the order was accepted; FirstAttempt when it was
	// first sent; NextAttempt when a worker may try again.
	Created, FirstAttempt, NextAttempt, Updated time.Time
	// LeaseOwner holds the record while it is being sent, until LeaseUntil.
	LeaseOwner string
	LeaseUntil time.Time
}

// Settlement is the outcome of one attempt, recorded by Journal.Settle.
type Settlement struct {
	// State is the new state. StateWritten and StateRejected are recorded
	// whoever holds the lease (they are facts about Exact); StatePending only
	// by the lease holder.
	State           string
	ExactID         string
	OrderNumber     int
	RejectionReason string
	LastError       string
	// NextAttempt is when a worker may try again (StatePending).
	NextAttempt time.Time
	At          time.Time
}

// PendingSummary describes the journal's pending orders.
type PendingSummary struct {
	Count int
	// Oldest is the acceptance time of the oldest pending order (zero when
	// there is none).
	Oldest time.Time
}

// Journal is the durable order journal with its idempotency records,
// implemented by *store.SQLite. It must survive restarts and be safe for
// concurrent use by several processes on one store.
type Journal interface {
	// Accept records rec (normally StatePending with a lease held by the
	// caller) and its idempotency record (Account, IdempotencyKey,
	// Fingerprint, GatewayID) in one transaction. When the account already
	// has a record under the key, nothing is written and that record is
	// returned with created false.
	Accept(ctx context.Context, rec JournalRecord) (got JournalRecord, created bool, err error)
	// ByKey returns the record an account's idempotency key points to, or
	// ErrNoRecord.
	ByKey(ctx context.Context, account, key string) (JournalRecord, error)
	// Record returns the record of a gateway order ID, or ErrNoRecord.
	Record(ctx context.Context, gatewayID string) (JournalRecord, error)
	// Claim leases a pending record to owner until until, when it is pending
	// and not leased by another owner (or that lease ended before now); it
	// counts an attempt and sets FirstAttempt when unset. ok is false when
	// the record is not claimable.
	Claim(ctx context.Context, gatewayID, owner string, now, until time.Time) (rec JournalRecord, ok bool, err error)
	// Settle records an attempt's outcome and releases owner's lease. A
	// record already written or rejected is left as it is.
	Settle(ctx context.Context, gatewayID, owner string, s Settlement) error
	// Due returns up to limit pending records whose NextAttempt is not after
	// now and whose lease is free or ended, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]JournalRecord, error)
	// ByAccount returns an account's records in the given states (all
	// states when none given), newest first.
	ByAccount(ctx context.Context, account string, states ...string) ([]JournalRecord, error)
	// Pending summarises the pending records.
	Pending(ctx context.Context) (PendingSummary, error)
}
