package metrics_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/server/metrics"
)

func TestWatchStore(t *testing.T) {
	var err error
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if e := m.WatchStore(func() error { return err }); e != nil {
		t.Fatalf("WatchStore: %v", e)
	}
	if diff := cmp.Diff([]string{" 1"}, series(scrape(t, m), "exactql_store_file_ok")); diff != "" {
		t.Errorf("healthy (-want +got):\n%s", diff)
	}
	err = errors.New("replaced")
	if diff := cmp.Diff([]string{" 0"}, series(scrape(t, m), "exactql_store_file_ok")); diff != "" {
		t.Errorf("replaced (-want +got):\n%s", diff)
	}
	if e := m.WatchStore(func() error { return nil }); !errors.Is(e, metrics.ErrRegistered) {
		t.Errorf("second WatchStore = %v, want ErrRegistered", e)
	}
}
