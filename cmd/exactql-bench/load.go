package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec is one closed-loop load run: Concurrency workers post Body to URL
// back to back until Duration has passed or MaxRequests were sent.
type loadSpec struct {
	URL         string
	Body        []byte
	Token       string
	Concurrency int
	Duration    time.Duration
	MaxRequests int64
	// Check validates a response body; nil accepts any 200.
	Check func(body []byte) error
}

// loadResult summarises a load run.
type loadResult struct {
	Requests int64
	Errors   int64
	FirstErr error
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// RPS is completed requests per second.
func (r loadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

var errBadSpec = errors.New("load: invalid spec")

// runLoad runs s with client c and measures every request's latency.
func runLoad(ctx context.Context, c *http.Client, s loadSpec) (loadResult, error) {
	if s.Concurrency <= 0 || s.Duration <= 0 || s.MaxRequests <= 0 || s.URL == "" {
		return loadResult{}, fmt.Errorf("runLoad: %+v: %w", s, errBadSpec)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	var (
		sent     atomic.Int64
		errs     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	lats := make([][]time.Duration, s.Concurrency)
	start := time.Now()
	for w := range s.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			for ctx.Err() == nil && sent.Add(1) <= s.MaxRequests {
				t0 := time.Now()
				body, err := post(ctx, c, s.URL, s.Token, s.Body, buf[:0])
				if ctx.Err() != nil {
					return // cut off by the deadline: not a sample
				}
				d := time.Since(t0)
				if err == nil && s.Check != nil {
					err = s.Check(body)
				}
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				buf = body
				lats[w] = append(lats[w], d)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return loadResult{Requests: int64(len(all)), Errors: errs.Load(), FirstErr: firstErr, Elapsed: elapsed,
		P50: percentile(all, 0.50), P99: percentile(all, 0.99)}, nil
}

// percentile returns the q-quantile of sorted (nearest rank); 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// post sends body and reads the answer into buf; non-200 is an error.
func post(ctx context.Context, c *http.Client, url, tok string, body, buf []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b := bytes.NewBuffer(buf)
	if _, err := io.Copy(b, resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, b.Bytes())
	}
	return b.Bytes(), nil
}
