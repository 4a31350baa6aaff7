package erp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
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
	// RedirectURL is the app's registered redirect URL. RunConsent needs an
	// http URL on a loopback host with a port (e.g.
	// http://localhost:8765/callback); RunConsentPaste takes any absolute
	// http or https URL, such as the https one Exact requires of apps
	// registered since 2021.
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
		if err := exchangeCode(xctx, o, hc, now, code); err != nil {
			var se *storeError
			if errors.As(err, &se) {
				consentPage(w, http.StatusInternalServerError, "Not saved", "The tokens could not be stored. Run `exactql auth` again.")
			} else {
				consentPage(w, http.StatusBadGateway, "Exchange failed", "Exact did not accept the code. Run `exactql auth` again.")
			}
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

// storeError marks a failure to store tokens Exact did issue (as opposed to
// Exact refusing the code).
type storeError struct{ err error }

func (e *storeError) Error() string { return "store tokens: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// exchangeCode trades an authorization code for the token chain at Exact's
// token endpoint and stores it.
func exchangeCode(ctx context.Context, o ConsentOptions, hc *http.Client, now func() time.Time, code string) error {
	res, err := postToken(ctx, hc, o.BaseURL, o.ClientID, o.ClientSecret, url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {o.RedirectURL},
	})
	if err != nil {
		return fmt.Errorf("exchange code: %w", err)
	}
	t := &StoredToken{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, Expiry: now().Add(res.ExpiresIn)}
	if err := o.Store.SaveToken(ctx, t); err != nil {
		return &storeError{err: err}
	}
	return nil
}

// IsLoopbackRedirect reports whether redirectURL is one RunConsent can
// receive itself: an http URL on a loopback host with an explicit port.
// `exactql auth` uses RunConsentPaste for every other URL.
func IsLoopbackRedirect(redirectURL string) bool {
	u, err := url.Parse(redirectURL)
	return err == nil && u.Scheme == "http" && u.Port() != "" && isLoopback(u.Hostname())
}

// ErrPastedInput means what was pasted into RunConsentPaste was not the
// redirected URL (or a code) of this consent.
var ErrPastedInput = errors.New("erp: pasted text is not Exact's redirect of this consent")

// maxPasteLine bounds one pasted line; a redirected URL is well under 2 KB.
const maxPasteLine = 16 << 10

// maxPasteAttempts is how many unusable lines RunConsentPaste reads before
// giving up (the code expires after about 3 minutes anyway).
const maxPasteAttempts = 5

// RunConsentPaste runs the consent without a local listener, for a
// redirect URL this process cannot receive (Exact requires https redirect
// URLs of apps registered since 2021; exact-online-api.md §5): it calls
// printURL with the consent URL, then reads lines from in until one holds
// the redirected URL (its ?code=&state=, the state must match) or just the
// code, exchanges the code and stores the tokens. A pasted URL must be the
// registered redirect URL (scheme, host and path) and carry the state; a
// bare code cannot carry the state, so only the person who started the
// consent should paste one. After a line that is neither, prompt (may be
// nil) is called with a hint and another line is read, up to a few times;
// the code is never echoed. It returns when the tokens are stored, consent
// failed, in ends, or ctx is done.
func RunConsentPaste(ctx context.Context, o ConsentOptions, in io.Reader, printURL func(string), prompt func(string)) error {
	ru, err := url.Parse(o.RedirectURL)
	if err != nil || ru.Host == "" || (ru.Scheme != "http" && ru.Scheme != "https") {
		return errors.New("erp.RunConsentPaste: redirect URL must be an absolute http or https URL")
	}
	if o.Store == nil {
		return errors.New("erp.RunConsentPaste: no token store")
	}
	if in == nil {
		return errors.New("erp.RunConsentPaste: no input to read the redirected URL from")
	}
	if o.State == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("erp.RunConsentPaste: state: %w", err)
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
	if prompt == nil {
		prompt = func(string) {}
	}
	if printURL != nil {
		printURL(ConsentURL(o))
	}

	// Reading a terminal cannot be interrupted: read on a goroutine so a
	// cancelled ctx returns at once (the process is about to exit then).
	lines := make(chan lineOrErr)
	stop := make(chan struct{})
	defer close(stop)
	go readLines(in, lines, stop)

	for attempt := 1; ; attempt++ {
		var l lineOrErr
		select {
		case l = <-lines:
		case <-ctx.Done():
			return fmt.Errorf("erp.RunConsentPaste: %w", ctx.Err())
		}
		if l.err != nil {
			if errors.Is(l.err, io.EOF) {
				return fmt.Errorf("erp.RunConsentPaste: input ended before a redirected URL or code was pasted: %w", ErrPastedInput)
			}
			return fmt.Errorf("erp.RunConsentPaste: read: %w", l.err)
		}
		code, err := parsePasted(l.line, ru, o.State)
		switch {
		case errors.Is(err, ErrConsentDenied):
			return fmt.Errorf("erp.RunConsentPaste: %w", err)
		case errors.Is(err, errEmptyLine):
			attempt--
			continue
		case err != nil:
			if attempt >= maxPasteAttempts {
				return fmt.Errorf("erp.RunConsentPaste: %w", err)
			}
			prompt(pasteHint(err))
			continue
		}
		// The code is single-use: the exchange is not cut short by ctx.
		xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err = exchangeCode(xctx, o, hc, now, code)
		cancel()
		if err != nil {
			return fmt.Errorf("erp.RunConsentPaste: %w", err)
		}
		return nil
	}
}

type lineOrErr struct {
	line string
	err  error
}

// readLines sends each line of in (at most maxPasteLine bytes; longer
// lines are an error) until in fails or stop is closed.
func readLines(in io.Reader, out chan<- lineOrErr, stop <-chan struct{}) {
	br := bufio.NewReaderSize(in, 4096)
	for {
		var b []byte
		var err error
		for {
			var chunk []byte
			var more bool
			chunk, more, err = br.ReadLine()
			b = append(b, chunk...)
			if len(b) > maxPasteLine {
				err = fmt.Errorf("line longer than %d bytes", maxPasteLine)
			}
			if err != nil || !more {
				break
			}
		}
		var l lineOrErr
		if err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
			l.err = err
		} else {
			l.line = string(b)
		}
		select {
		case out <- l:
		case <-stop:
			return
		}
		if l.err != nil {
			return
		}
	}
}

var errEmptyLine = errors.New("empty line")

// parsePasted returns the authorization code in a pasted line: the whole
// redirected URL, its query string, or the bare code.
func parsePasted(line string, redirect *url.URL, state string) (string, error) {
	s := strings.TrimSpace(line)
	if s == "" {
		return "", errEmptyLine
	}
	if strings.ContainsAny(s, " \t") {
		return "", pasteErr("it contains spaces")
	}
	var q url.Values
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			return "", pasteErr("not a URL")
		}
		if !strings.EqualFold(u.Scheme, redirect.Scheme) || !strings.EqualFold(u.Host, redirect.Host) || strings.TrimRight(u.Path, "/") != strings.TrimRight(redirect.Path, "/") {
			return "", pasteErr("it is not the redirect URL")
		}
		q = u.Query()
	case strings.Contains(s, "code=") || strings.Contains(s, "error=") || strings.HasPrefix(s, "?"):
		v, err := url.ParseQuery(strings.TrimPrefix(s, "?"))
		if err != nil {
			return "", pasteErr("not a query string")
		}
		q = v
	default:
		// A bare code, maybe copied still URL-encoded ("%21" for "!").
		code, err := url.QueryUnescape(s)
		if err != nil || code == "" {
			return "", pasteErr("not a code")
		}
		return code, nil
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return "", pasteErr("its state does not match this consent (an old or foreign redirect)")
	}
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("erp: Exact reported %q: %w", clipText(e, 100), ErrConsentDenied)
	}
	code := q.Get("code") // already URL-decoded ("%21" → "!")
	if code == "" {
		return "", pasteErr("it carries no code")
	}
	return code, nil
}

// pasteError says why a pasted line is unusable; it wraps ErrPastedInput
// and never quotes the line (it may hold a code).
type pasteError struct{ reason string }

func pasteErr(reason string) error { return &pasteError{reason: reason} }

func (e *pasteError) Error() string { return ErrPastedInput.Error() + ": " + e.reason }
func (e *pasteError) Unwrap() error { return ErrPastedInput }

// pasteHint is what the person is told after an unusable line.
func pasteHint(err error) string {
	reason := "unreadable"
	var pe *pasteError
	if errors.As(err, &pe) {
		reason = pe.reason
	}
	return "That was not usable (" + reason + "). Paste the full address your browser was sent to after allowing access, or just its code:"
}
