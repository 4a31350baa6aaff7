package metrics_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/server/metrics"
)

func TestResponseCache(t *testing.T) {
	st := metrics.ResponseCacheStats{Hits: 7, Misses: 3, Bytes: 4096}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchResponseCache(func() metrics.ResponseCacheStats { return st }); err != nil {
		t.Fatalf("WatchResponseCache: %v", err)
	}
	fams := scrape(t, m)
	for name, want := range map[string][]string{
		"exactql_response_cache_hits_total":   {" 7"},
		"exactql_response_cache_misses_total": {" 3"},
		"exactql_response_cache_bytes":        {" 4096"},
	} {
		if diff := cmp.Diff(want, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if err := m.WatchResponseCache(func() metrics.ResponseCacheStats { return st }); !errors.Is(err, metrics.ErrRegistered) {
		t.Errorf("second WatchResponseCache = %v, want ErrRegistered", err)
	}
}
