package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/server/metrics"
	"github.com/exactql/exactql/store"
)

// One mirror for all replicas (ARCHITECTURE §11, docs/architecture.md
// "Mirror leadership"): on PostgreSQL exactly one replica runs the feeds,
// the one whose dedicated connection holds the leader lock; every other
// replica follows the change log. On SQLite the process runs the feeds
// itself, as it always did.

const (
	// linkWait is how long a link waits for a notification before a
	// follower polls the change log anyway (a missed notification costs
	// at most this) and a leader pings its connection.
	linkWait = 3 * time.Second
	// tryLeadEvery is how often a follower tries the leader lock: a dead
	// leader's lock is free as soon as PostgreSQL sees its connection end,
	// so a follower takes over within this (plus its catch-up).
	tryLeadEvery = 5 * time.Second
	// linkBackoffMax bounds the wait between attempts to open the link.
	linkBackoffMax = 30 * time.Second
)

// mirrorRole runs a replica's part of the mirror on PostgreSQL.
type mirrorRole struct {
	st     *store.Postgres
	runner *feeds.Runner
	log    zerolog.Logger
	holder string

	// wakes carries webhook topics a follower passes to the leader (the
	// webhook handler must not block on the database).
	wakes chan string

	leader   atomic.Bool
	linkUp   atomic.Bool
	epoch    atomic.Int64
	terms    atomic.Int64 // times this replica took the lead
	followed atomic.Int64 // change log entries applied as a follower
	catchErr atomic.Int64 // failed catch-ups (database unreachable)
}

func newMirrorRole(st *store.Postgres, runner *feeds.Runner, log zerolog.Logger) *mirrorRole {
	host, _ := os.Hostname()
	st.FenceMirror() // no mirror write until this replica leads
	return &mirrorRole{st: st, runner: runner, log: log.With().Str("component", "mirror").Logger(),
		holder: fmt.Sprintf("%s/%d", host, os.Getpid()), wakes: make(chan string, 64)}
}

// Role is "leader" or "follower".
func (m *mirrorRole) Role() string {
	if m.leader.Load() {
		return "leader"
	}
	return "follower"
}

// run keeps a link open until ctx ends, following or leading.
func (m *mirrorRole) run(ctx context.Context) {
	go m.passWakes(ctx)
	backoff := time.Second
	for ctx.Err() == nil {
		link, err := m.st.OpenMirrorLink(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn().Err(err).Dur("retry_in", backoff).Msg("mirror: no connection for the leader lock; following the change log by polling")
			m.catchUp(ctx)
			if sleepCtx(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, linkBackoffMax)
			continue
		}
		backoff = time.Second
		m.linkUp.Store(true)
		err = m.term(ctx, link)
		m.linkUp.Store(false)
		link.Close()
		if ctx.Err() == nil {
			m.log.Warn().Err(err).Msg("mirror: lost the dedicated connection; reconnecting")
		}
	}
}

// term follows the leader on link until it can take the lead, then leads
// until the link fails.
func (m *mirrorRole) term(ctx context.Context, link *store.MirrorLink) error {
	m.catchUp(ctx)
	var lastTry time.Time
	for {
		if time.Since(lastTry) >= tryLeadEvery {
			lastTry = time.Now()
			ok, err := link.TryLead(ctx, m.holder)
			if err != nil {
				return err
			}
			if ok {
				return m.lead(ctx, link)
			}
		}
		if _, _, err := link.Wait(ctx, linkWait); err != nil {
			return err
		}
		// On a notification, and every linkWait anyway.
		m.catchUp(ctx)
	}
}

// lead runs the feeds while link holds the lock. When the link fails the
// store refuses mirror writes at once and the feeds stop.
func (m *mirrorRole) lead(ctx context.Context, link *store.MirrorLink) error {
	// First what the previous leader committed, so the feeds resume from
	// its watermarks instead of reading again what it read.
	if _, err := m.runner.CatchUp(ctx); err != nil {
		return fmt.Errorf("catching up before leading: %w", err)
	}
	m.epoch.Store(link.Epoch())
	m.terms.Add(1)
	m.leader.Store(true)
	m.log.Info().Int64("epoch", link.Epoch()).Int64("position", m.runner.Position()).Str("holder", m.holder).
		Msg("mirror: this replica leads: it runs the feeds")
	lctx, lcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := m.runner.Run(lctx); err != nil && lctx.Err() == nil {
			m.log.Error().Err(err).Msg("mirror feeds stopped")
		}
	}()
	defer func() {
		link.Drop()
		lcancel()
		<-done
		m.leader.Store(false)
		if ctx.Err() == nil {
			m.log.Warn().Msg("mirror: this replica no longer leads: feeds stopped, following the change log")
		}
	}()
	for {
		n, got, err := link.Wait(ctx, linkWait)
		if err != nil {
			link.Drop() // refuse writes before anything else
			return err
		}
		if got && !n.Mirror {
			m.runner.WakeTopic(n.Topic)
		}
		if !got {
			if err := link.Ping(ctx, linkWait); err != nil {
				link.Drop()
				return err
			}
		}
	}
}

func (m *mirrorRole) catchUp(ctx context.Context) {
	n, err := m.runner.CatchUp(ctx)
	if err != nil {
		if ctx.Err() == nil && m.catchErr.Add(1)%20 == 1 {
			m.log.Warn().Err(err).Msg("mirror: the change log cannot be read; answering from memory")
		}
		return
	}
	m.followed.Add(int64(n))
}

// wakeTopic is the webhook handler's wake: the leader wakes its feeds, a
// follower passes the topic to the leader through PostgreSQL.
func (m *mirrorRole) wakeTopic(topic string) bool {
	known := m.runner.WakeTopic(topic)
	if known && !m.leader.Load() {
		select {
		case m.wakes <- topic:
		default: // a burst: the wakes queued already cover it (the leader debounces)
		}
	}
	return known
}

// passWakes sends queued webhook topics to the leader.
func (m *mirrorRole) passWakes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case topic := <-m.wakes:
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := m.st.WakeMirrorLeader(wctx, topic); err != nil && ctx.Err() == nil {
				m.log.Warn().Err(err).Str("topic", topic).Msg("mirror: could not pass the webhook to the leader; the feed polls on its interval")
			}
			cancel()
		}
	}
}

// register exports the role: exactql_mirror_leader (1 on the replica
// running the feeds), exactql_mirror_leader_epoch,
// exactql_mirror_leader_terms_total, exactql_mirror_link_up,
// exactql_mirror_log_position and exactql_mirror_followed_entries_total.
func (m *mirrorRole) register(reg *metrics.Metrics) error {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for name, c := range map[string]prometheus.Collector{
		"MirrorLeader": prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exactql_mirror_leader",
			Help: "1 while this replica leads the mirror (runs the feeds), 0 while it follows."}, func() float64 { return b2f(m.leader.Load()) }),
		"MirrorEpoch": prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exactql_mirror_leader_epoch",
			Help: "Fencing epoch of this replica's last term as mirror leader (0: never led)."}, func() float64 { return float64(m.epoch.Load()) }),
		"MirrorTerms": prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "exactql_mirror_leader_terms_total",
			Help: "Times this replica took the mirror's lead."}, func() float64 { return float64(m.terms.Load()) }),
		"MirrorLink": prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exactql_mirror_link_up",
			Help: "1 while the dedicated PostgreSQL connection for the leader lock and notifications is open."}, func() float64 { return b2f(m.linkUp.Load()) }),
		"MirrorPosition": prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "exactql_mirror_log_position",
			Help: "Change log position this replica's indexes reflect."}, func() float64 { return float64(m.runner.Position()) }),
		"MirrorFollowed": prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "exactql_mirror_followed_entries_total",
			Help: "Change log entries this replica applied while following."}, func() float64 { return float64(m.followed.Load()) }),
	} {
		if err := reg.Register(name, c); err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
