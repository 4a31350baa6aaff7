package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
)

// OrderStats is what WatchOrders reads at scrape time; the gateway fills it
// from (*orders.Service).Stats.
type OrderStats struct {
	// Outcomes counts orders by outcome since start.
	Outcomes map[string]int64
	// Pending is the number of pending orders in the journal.
	Pending int
	// OldestPendingAge is the age of the oldest pending order (0 when none).
	OldestPendingAge time.Duration
	// JournalErr is set when the journal could not be read; the pending
	// figures are then left out of the scrape.
	JournalErr error
}

// maxOutcomes caps the distinct order outcome labels (the order service
// has about ten).
const maxOutcomes = 30

// funcCollector emits the metrics built by collect from one read of a
// source at scrape time. A panicking source costs its metrics, never the
// process.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	defer func() { _ = recover() }()
	c.collect(ch)
}

// WatchExact exports the Exact client's counters and the governor's view of
// the rate budget, read from stats at every scrape (pass
// (*erp.Client).Stats): exactql_exact_budget_remaining{window="minute|day"},
// exactql_exact_budget_limit{window}, exactql_exact_blocked (1 while
// nothing may be sent after a 429), exactql_exact_rate_limited_total,
// exactql_exact_retries_total and exactql_exact_error_capped_total.
// Exact's limits are unknown until its first answer; until then limit and
// remaining read 0. Calling it twice is ErrRegistered.
func (m *Metrics) WatchExact(stats func() erp.Stats) error {
	remaining := prometheus.NewDesc("exactql_exact_budget_remaining",
		"Exact API calls left in the current rate window, as last announced by Exact and counted since.", []string{"window"}, nil)
	limit := prometheus.NewDesc("exactql_exact_budget_limit",
		"Exact API calls allowed per rate window, as announced by Exact.", []string{"window"}, nil)
	blocked := prometheus.NewDesc("exactql_exact_blocked",
		"1 while no call may be sent to Exact after a 429, else 0.", nil, nil)
	limited := prometheus.NewDesc("exactql_exact_rate_limited_total",
		"429 answers received from Exact.", nil, nil)
	retries := prometheus.NewDesc("exactql_exact_retries_total",
		"Repeated GET attempts to Exact.", nil, nil)
	capped := prometheus.NewDesc("exactql_exact_error_capped_total",
		"Calls not sent because their endpoint reached Exact's hourly error cap.", nil, nil)
	return m.register("Exact", &funcCollector{
		descs: []*prometheus.Desc{remaining, limit, blocked, limited, retries, capped},
		collect: func(ch chan<- prometheus.Metric) {
			s := stats()
			b := s.Budget
			ch <- prometheus.MustNewConstMetric(remaining, prometheus.GaugeValue, float64(b.MinuteRemaining), "minute")
			ch <- prometheus.MustNewConstMetric(remaining, prometheus.GaugeValue, float64(b.DayRemaining), "day")
			ch <- prometheus.MustNewConstMetric(limit, prometheus.GaugeValue, float64(b.MinuteLimit), "minute")
			ch <- prometheus.MustNewConstMetric(limit, prometheus.GaugeValue, float64(b.DayLimit), "day")
			ch <- prometheus.MustNewConstMetric(blocked, prometheus.GaugeValue, b2f(!b.BlockedUntil.IsZero()))
			ch <- prometheus.MustNewConstMetric(limited, prometheus.CounterValue, float64(s.RateLimited))
			ch <- prometheus.MustNewConstMetric(retries, prometheus.CounterValue, float64(s.Retries))
			ch <- prometheus.MustNewConstMetric(capped, prometheus.CounterValue, float64(s.ErrorCapped))
		},
	})
}

// WatchCache exports the cache's counters, read from stats at every scrape
// (pass (*cache.Cache).Stats; the cache must be built with
// Options.Metrics, or everything reads 0): hits, misses, stale answers,
// loads, load errors, background refreshes, coalesced keys and ristretto's
// dropped and rejected Sets, each as exactql_cache_*_total. Calling it
// twice is ErrRegistered.
func (m *Metrics) WatchCache(stats func() cache.Stats) error {
	type counter struct {
		desc *prometheus.Desc
		get  func(cache.Stats) uint64
	}
	mk := func(name, help string, get func(cache.Stats) uint64) counter {
		return counter{prometheus.NewDesc("exactql_cache_"+name+"_total", help, nil, nil), get}
	}
	counters := []counter{
		mk("hits", "Fresh cache entries served (values or known absences).", func(s cache.Stats) uint64 { return s.Hits }),
		mk("misses", "Keys not served from the cache at once.", func(s cache.Stats) uint64 { return s.Misses }),
		mk("stale_served", "Expired entries served (while revalidating or because Exact failed).", func(s cache.Stats) uint64 { return s.StaleServed }),
		mk("loads", "Load calls to the upstream (foreground and background).", func(s cache.Stats) uint64 { return s.Loads }),
		mk("load_errors", "Load calls that failed.", func(s cache.Stats) uint64 { return s.LoadErrors }),
		mk("refreshes", "Background refreshes started.", func(s cache.Stats) uint64 { return s.Refreshes }),
		mk("coalesced", "Keys whose request joined a load already in flight.", func(s cache.Stats) uint64 { return s.Coalesced }),
		mk("releads", "Requests that loaded data on their own budget after a load they joined hit its starter's own caller limit.", func(s cache.Stats) uint64 { return s.Releads }),
		mk("sets_dropped", "Ristretto Sets dropped by its set buffer.", func(s cache.Stats) uint64 { return s.SetsDropped }),
		mk("sets_rejected", "Ristretto Sets rejected by its admission policy.", func(s cache.Stats) uint64 { return s.SetsRejected }),
		mk("keys_evicted", "Entries evicted by ristretto to stay within its capacity.", func(s cache.Stats) uint64 { return s.KeysEvicted }),
	}
	descs := make([]*prometheus.Desc, len(counters))
	for i, c := range counters {
		descs[i] = c.desc
	}
	return m.register("Cache", &funcCollector{
		descs: descs,
		collect: func(ch chan<- prometheus.Metric) {
			s := stats()
			for _, c := range counters {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(c.get(s)))
			}
		},
	})
}

// WatchCallerLimit exports exactql_caller_limit_refusals_total, read from
// refusals at every scrape (pass (*callerlimit.Limiter).Refusals). Calling
// it twice is ErrRegistered.
func (m *Metrics) WatchCallerLimit(refusals func() uint64) error {
	return m.register("CallerLimit", prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "exactql_caller_limit_refusals_total",
		Help: "Exact calls refused because the caller had spent its per-minute budget.",
	}, func() float64 { return float64(refusals()) }))
}

// WatchOrders exports the order service's figures, read from stats at
// every scrape: exactql_orders_total{outcome}, exactql_orders_pending,
// exactql_orders_oldest_pending_age_seconds and exactql_orders_journal_up
// (0 when the journal could not be read; the pending figures are then
// left out). Calling it twice is ErrRegistered.
func (m *Metrics) WatchOrders(stats func() OrderStats) error {
	total := prometheus.NewDesc("exactql_orders_total",
		"Orders handled since start, by outcome.", []string{"outcome"}, nil)
	pending := prometheus.NewDesc("exactql_orders_pending",
		"Orders whose outcome in Exact is not known yet.", nil, nil)
	oldest := prometheus.NewDesc("exactql_orders_oldest_pending_age_seconds",
		"Age of the oldest pending order (0 when none).", nil, nil)
	up := prometheus.NewDesc("exactql_orders_journal_up",
		"1 when the order journal could be read, else 0.", nil, nil)
	outcomes := newLabelSet(maxOutcomes)
	return m.register("Orders", &funcCollector{
		descs: []*prometheus.Desc{total, pending, oldest, up},
		collect: func(ch chan<- prometheus.Metric) {
			s := stats()
			sums := map[string]int64{}
			for k, v := range s.Outcomes {
				sums[outcomes.admit(k, validName)] += v
			}
			for k, v := range sums {
				ch <- prometheus.MustNewConstMetric(total, prometheus.CounterValue, float64(v), k)
			}
			if s.JournalErr != nil {
				ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, 0)
				return
			}
			ch <- prometheus.MustNewConstMetric(up, prometheus.GaugeValue, 1)
			ch <- prometheus.MustNewConstMetric(pending, prometheus.GaugeValue, float64(s.Pending))
			ch <- prometheus.MustNewConstMetric(oldest, prometheus.GaugeValue, s.OldestPendingAge.Seconds())
		},
	})
}

// tokenStatusTimeout bounds reading the token store at scrape time.
const tokenStatusTimeout = 5 * time.Second

// WatchToken exports the state of the Exact token chain, read from status
// at every scrape (pass (*erp.TokenSource).Status): exactql_exact_token_ok
// (1 when a token is stored and no new consent is needed) and
// exactql_exact_consent_needed (1 when a person must run `exactql auth`;
// the alert that matters). Calling it twice is ErrRegistered.
func (m *Metrics) WatchToken(status func(ctx context.Context) erp.TokenStatus) error {
	ok := prometheus.NewDesc("exactql_exact_token_ok",
		"1 when an Exact token is stored and no new consent is needed, else 0.", nil, nil)
	consent := prometheus.NewDesc("exactql_exact_consent_needed",
		"1 when the Exact token chain is broken and a person must consent again, else 0.", nil, nil)
	return m.register("Token", &funcCollector{
		descs: []*prometheus.Desc{ok, consent},
		collect: func(ch chan<- prometheus.Metric) {
			ctx, cancel := context.WithTimeout(context.Background(), tokenStatusTimeout)
			defer cancel()
			st := status(ctx)
			ch <- prometheus.MustNewConstMetric(ok, prometheus.GaugeValue, b2f(st.OK))
			ch <- prometheus.MustNewConstMetric(consent, prometheus.GaugeValue, b2f(st.ConsentNeeded))
		},
	})
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// OrderAbuseStats is what WatchOrderAbuse reads at scrape time; the gateway
// fills it from (*orders.Service).Stats.
type OrderAbuseStats struct {
	// PriceMismatches counts written order lines whose net price in Exact
	// differed from the price the gateway sent.
	PriceMismatches uint64
	// AttemptsRefused counts placeOrder attempts refused by the per-buyer
	// limit (EXACTQL_ORDER_ATTEMPTS_PER_MINUTE).
	AttemptsRefused uint64
}

// WatchOrderAbuse exports exactql_order_price_mismatches_total and
// exactql_order_attempts_refused_total, read from stats at every scrape.
// Calling it twice is ErrRegistered.
func (m *Metrics) WatchOrderAbuse(stats func() OrderAbuseStats) error {
	mismatches := prometheus.NewDesc("exactql_order_price_mismatches_total",
		"Written order lines whose net price in Exact differed from the price the gateway sent.", nil, nil)
	refused := prometheus.NewDesc("exactql_order_attempts_refused_total",
		"placeOrder attempts refused because the buyer made too many in one minute.", nil, nil)
	return m.register("OrderAbuse", &funcCollector{
		descs: []*prometheus.Desc{mismatches, refused},
		collect: func(ch chan<- prometheus.Metric) {
			s := stats()
			ch <- prometheus.MustNewConstMetric(mismatches, prometheus.CounterValue, float64(s.PriceMismatches))
			ch <- prometheus.MustNewConstMetric(refused, prometheus.CounterValue, float64(s.AttemptsRefused))
		},
	})
}

// WatchStore exports exactql_store_file_ok: 1 while the store's open
// database file is still the file at its path, 0 when it was deleted or
// replaced (check is (*store.SQLite).CheckIdentity, run at every scrape).
// Calling it twice is ErrRegistered.
func (m *Metrics) WatchStore(check func() error) error {
	ok := prometheus.NewDesc("exactql_store_file_ok",
		"1 while the store's open database file is still the file at its path, 0 when it was deleted or replaced.", nil, nil)
	return m.register("Store", &funcCollector{
		descs: []*prometheus.Desc{ok},
		collect: func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(ok, prometheus.GaugeValue, b2f(check() == nil))
		},
	})
}
