package feeds

import (
	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the runner's state at scrape time.
type collector struct {
	r                                    *Runner
	rows, lag, calls, success, projected *prometheus.Desc
	complete, failing                    *prometheus.Desc
}

// Collector returns the runner's Prometheus metrics, read at scrape time:
// exactql_mirror_rows{feed}, exactql_mirror_lag_seconds{feed} (time since
// the feed's last successful read; absent before the first),
// exactql_mirror_sync_calls_total{feed},
// exactql_mirror_last_success_timestamp{feed} (Unix seconds),
// exactql_mirror_complete{feed} (1 once the first full pass finished),
// exactql_mirror_failing{feed,code} (1 while the last read failed, with
// the error's kind as code) and exactql_mirror_projected_calls_per_day.
// Register it on the gateway's registry.
func (r *Runner) Collector() prometheus.Collector {
	f := []string{"feed"}
	return &collector{
		r:         r,
		rows:      prometheus.NewDesc("exactql_mirror_rows", "Rows the mirror holds per feed.", f, nil),
		lag:       prometheus.NewDesc("exactql_mirror_lag_seconds", "Seconds since the feed last read Exact successfully.", f, nil),
		calls:     prometheus.NewDesc("exactql_mirror_sync_calls_total", "Exact calls the feed sent since start (retries included; calls the governor refused are not counted).", f, nil),
		success:   prometheus.NewDesc("exactql_mirror_last_success_timestamp", "Unix time of the feed's last successful read.", f, nil),
		complete:  prometheus.NewDesc("exactql_mirror_complete", "1 once the feed's first full pass has finished.", f, nil),
		failing:   prometheus.NewDesc("exactql_mirror_failing", "1 while the feed's last read failed; code is the kind of failure.", []string{"feed", "code"}, nil),
		projected: prometheus.NewDesc("exactql_mirror_projected_calls_per_day", "Exact calls a day the feeds are planned to spend in steady state.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rows, c.lag, c.calls, c.success, c.complete, c.failing, c.projected} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	defer func() { _ = recover() }() // a scrape must never take the process down
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, s := range c.r.Status() {
		ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(s.Rows), s.Feed)
		ch <- prometheus.MustNewConstMetric(c.calls, prometheus.CounterValue, float64(s.Calls), s.Feed)
		ch <- prometheus.MustNewConstMetric(c.complete, prometheus.GaugeValue, b2f(s.Complete), s.Feed)
		if !s.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, s.Lag.Seconds(), s.Feed)
			ch <- prometheus.MustNewConstMetric(c.success, prometheus.GaugeValue, float64(s.LastSuccess.UnixMilli())/1000, s.Feed)
		}
		if s.ErrorCode != "" {
			ch <- prometheus.MustNewConstMetric(c.failing, prometheus.GaugeValue, 1, s.Feed, s.ErrorCode)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.projected, prometheus.GaugeValue, c.r.Projection().Total)
}
