package erp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ConsentOptions configures the `exactql auth` consent flow.
type ConsentOptions struct {
	// BaseURL is Exact's host, e.g. https://start.exactonline.nl.
	BaseURL      string
	ClientID     string
	ClientSecret string
	// RedirectURL is the app's registered redirect URL; it must point to a
	// loopback host with a port (e.g. http://localhost:8765/callback).
	RedirectURL string
	// Store receives the tokens.
	Store TokenStore
	// HTTPClient calls the token endpoint; http.DefaultClient when nil.
	HTTPClient *http.Client
	// State is the anti-forgery value echoed by Exact; a random one is
	// generated when empty (RunConsent fills it in before printing).
	State string
	// Now is the clock for the token's expiry; time.Now when nil.
	Now func() time.Time
}

// ErrConsentDenied means the person refused the consent or Exact reported an
// error on the redirect.
var ErrConsentDenied = errors.New("erp: Exact consent was not given")

// ConsentURL returns Exact's authorization URL for o:
// {base}/api/oauth2/auth?client_id=…&redirect_uri=…&response_type=code&state=….
func ConsentURL(o ConsentOptions) string {
	q := url.Values{
		"client_id":     {o.ClientID},
		"redirect_uri":  {o.RedirectURL},
		"response_type": {"code"},
	}
	if o.State != "" {
		q.Set("state", o.State)
	}
	return strings.TrimRight(o.BaseURL, "/") + "/api/oauth2/auth?" + q.Encode()
}

// RunConsent runs the interactive consent: it listens on the redirect URL's
// loopback host and port, calls printURL with the consent URL, waits for
// Exact's redirect carrying ?code=&state= (the state must match), exchanges
// the code at the token endpoint, stores the tokens with SaveToken and only
// then answers the browser with a small "done" page. It returns when the
// tokens are stored, consent failed, or ctx is done.
func RunConsent(ctx context.Context, o ConsentOptions, printURL func(string)) error {
	u, err := url.Parse(o.RedirectURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("erp.RunConsent: redirect URL must be an absolute http URL on a loopback host")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		return fmt.Errorf("erp.RunConsent: redirect URL %q needs an explicit port", u.Redacted())
	}
	if !isLoopback(host) {
		return fmt.Errorf("erp.RunConsent: redirect URL host %q is not a loopback address, so the code cannot be received here", host)
	}
	if u.Scheme == "https" {
		return fmt.Errorf("erp.RunConsent: redirect URL must use http (the local listener has no certificate)")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("erp.RunConsent: listen: %w", err)
	}
	return runConsent(ctx, o, ln, printURL)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runConsent serves the redirect on ln (closed on return).
func runConsent(ctx context.Context, o ConsentOptions, ln net.Listener, printURL func(string)) error {
	if o.Store == nil {
		ln.Close()
		return errors.New("erp.RunConsent: no token store")
	}
	if o.State == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			ln.Close()
			return fmt.Errorf("erp.RunConsent: state: %w", err)
		}
		o.State = hex.EncodeToString(b[:])
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	path := "/"
	if u, err := url.Parse(o.RedirectURL); err == nil && u.Path != "" {
		path = u.Path
	}

	done := make(chan error, 1)
	finish := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	var busy = make(chan struct{}, 1) // one exchange at a time; a code is single-use
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(o.State)) != 1 {
			// Not our redirect (forged or stale): refuse and keep waiting.
			consentPage(w, http.StatusBadRequest, "Unexpected request", "The state parameter does not match. Start again with `exactql auth`.")
			return
		}
		if e := q.Get("error"); e != "" {
			consentPage(w, http.StatusBadRequest, "Consent not given", "Exact reported: "+clipText(e, 100))
			finish(fmt.Errorf("erp.RunConsent: Exact reported %q: %w", clipText(e, 100), ErrConsentDenied))
			return
		}
		code := q.Get("code") // already URL-decoded ("%21" → "!")
		if code == "" {
			consentPage(w, http.StatusBadRequest, "No code", "The redirect carried no authorization code.")
			return
		}
		select {
		case busy <- struct{}{}:
		default:
			consentPage(w, http.StatusConflict, "Busy", "A code is being exchanged already.")
			return
		}
		defer func() { <-busy }()
		// A browser that goes away must not cancel the exchange: the code
		// is single-use.
		xctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
		defer cancel()
		res, err := postToken(xctx, hc, o.BaseURL, o.ClientID, o.ClientSecret, url.Values{
			"grant_type":   {"authorization_code"},
			"code":         {code},
			"redirect_uri": {o.RedirectURL},
		})
		if err != nil {
			consentPage(w, http.StatusBadGateway, "Exchange failed", "Exact did not accept the code. Run `exactql auth` again.")
			finish(fmt.Errorf("erp.RunConsent: exchange code: %w", err))
			return
		}
		t := &StoredToken{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, Expiry: now().Add(res.ExpiresIn)}
		if err := o.Store.SaveToken(xctx, t); err != nil {
			consentPage(w, http.StatusInternalServerError, "Not saved", "The tokens could not be stored. Run `exactql auth` again.")
			finish(fmt.Errorf("erp.RunConsent: %w", err))
			return
		}
		consentPage(w, http.StatusOK, "exactql is connected", "The Exact Online consent is stored. You can close this window.")
		finish(nil)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			finish(fmt.Errorf("erp.RunConsent: serve: %w", err))
		}
	}()
	if printURL != nil {
		printURL(ConsentURL(o))
	}
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("erp.RunConsent: %w", ctx.Err())
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx) // lets the "done" page reach the browser
	return err
}

func consentPage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}
