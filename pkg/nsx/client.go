// Package nsx is a small NSX-T Manager client for the port tagger: it reads
// and writes objects as raw JSON (so that fields it does not know survive a
// round trip), authenticates with a session (or a principal-identity
// certificate), verifies TLS, stays under NSX's per-client limits with a
// client-side rate and concurrency limit, and retries 429, 503 and broken
// connections with backoff and jitter.
package nsx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/epks/epks/pkg/certs"
)

// Config configures a Client.
type Config struct {
	// Managers are the NSX Managers: host, host:port or https://host[:port].
	// Requests go to the first; the next is tried when one cannot be reached.
	Managers []string
	// Username and Password authenticate with a session (or basic auth).
	Username, Password string
	// Certificate authenticates as a principal identity instead.
	Certificate *tls.Certificate
	// RootCAs verify the Managers; nil uses the system roots.
	RootCAs *x509.CertPool
	// Thumbprints pin the Managers' leaf certificates by SHA-256 (64 hex
	// digits, colons allowed): when set, a Manager is accepted exactly when
	// its certificate has one of them, and RootCAs is not used (NCP's
	// `[nsx_v3] thumbprint`, for NSX's self-signed certificates).
	Thumbprints []string
	// Insecure skips TLS verification. Not for production.
	Insecure bool
	// RateLimit is the most requests per second [90], below NSX's default of
	// 100 per client.
	RateLimit float64
	// Concurrency is the most requests in flight [20], below NSX's 40.
	Concurrency int
	// MaxRetries of a request that met 429, 503 or a broken connection [6].
	MaxRetries int
	// Backoff is the first retry delay, doubled each time with jitter, up to
	// MaxBackoff [200ms, 10s].
	Backoff, MaxBackoff time.Duration
	// Observe, when set, is called after every request with the method, the
	// status (0 for a transport error) and the duration.
	Observe func(method string, status int, d time.Duration)
	// Timeout of one request [60s].
	Timeout time.Duration
	// PageSize of lists [1000, NSX's largest].
	PageSize int
}

// Client talks to the NSX Manager.
type Client struct {
	cfg     Config
	http    *http.Client
	limiter *rate.Limiter
	slots   chan struct{}

	mu      sync.Mutex
	manager int    // index of the manager in use
	cookie  string // JSESSIONID
	xsrf    string
}

// New returns a client. It does not connect.
func New(cfg Config) (*Client, error) {
	if len(cfg.Managers) == 0 {
		return nil, errors.New("nsx: no manager address")
	}
	for i, m := range cfg.Managers {
		u, err := managerURL(m)
		if err != nil {
			return nil, err
		}
		cfg.Managers[i] = u
	}
	if cfg.Certificate == nil && (cfg.Username == "" || cfg.Password == "") {
		return nil, errors.New("nsx: a user name and password, or a client certificate, is required")
	}
	if cfg.RateLimit <= 0 {
		cfg.RateLimit = 90
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 20
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 6
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 1000 {
		cfg.PageSize = 1000
	}
	tlsCfg := &tls.Config{RootCAs: cfg.RootCAs, InsecureSkipVerify: cfg.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // opt-in
	if len(cfg.Thumbprints) > 0 && !cfg.Insecure {
		pins := make([]string, len(cfg.Thumbprints))
		for i, t := range cfg.Thumbprints {
			n, err := certs.NormalizeThumbprint(t)
			if err != nil {
				return nil, fmt.Errorf("nsx: thumbprint %d %w", i+1, err)
			}
			pins[i] = n
		}
		// The pin replaces the CA check, which a self-signed Manager fails.
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // VerifyConnection checks the pin
		tlsCfg.VerifyConnection = certs.PinnedVerifier(pins)
	}
	if cfg.Certificate != nil {
		tlsCfg.Certificates = []tls.Certificate{*cfg.Certificate}
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	// A token bucket of one second's worth would allow a burst above the
	// rate NSX counts; a burst of one keeps every second under the limit.
	return &Client{
		cfg:     cfg,
		http:    &http.Client{Transport: tr, Timeout: cfg.Timeout},
		limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit), 1),
		slots:   make(chan struct{}, cfg.Concurrency),
	}, nil
}

func managerURL(m string) (string, error) {
	if !strings.Contains(m, "://") {
		m = "https://" + m
	}
	u, err := url.Parse(m)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("nsx: manager %q is not host[:port] or https://host[:port]", m)
	}
	return u.Scheme + "://" + u.Host, nil
}

// APIError is an NSX error answer.
type APIError struct {
	Method  string
	Path    string
	Status  int
	Code    int    `json:"error_code"`
	Message string `json:"error_message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("NSX %s %s: %d %s (error %d): %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Code, e.Message)
}

// IsStaleRevision reports whether err is NSX refusing a write made against
// an old _revision.
func IsStaleRevision(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusPreconditionFailed || e.Status == http.StatusConflict)
}

// IsNotFound reports whether err is a 404.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// retryable reports whether a status means "try again later".
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// Do sends a request and decodes the JSON answer into out (when not nil).
// path is relative to the Manager, e.g. "/api/v1/logical-ports". body, when
// not nil, is sent as JSON. Writes carry X-Allow-Overwrite, as objects that
// OpenStack's principal identity created need.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encoding NSX request: %w", err)
		}
	}
	backoff := c.cfg.Backoff
	reauthed := false
	for attempt := 0; ; attempt++ {
		status, respBody, err := c.once(ctx, method, path, payload)
		switch {
		case err == nil && status >= 200 && status < 300:
			if out == nil || len(respBody) == 0 {
				return nil
			}
			if raw, ok := out.(*json.RawMessage); ok {
				*raw = append((*raw)[:0], respBody...)
				return nil
			}
			dec := json.NewDecoder(bytes.NewReader(respBody))
			dec.UseNumber()
			if err := dec.Decode(out); err != nil {
				return fmt.Errorf("decoding NSX %s %s: %w", method, path, err)
			}
			return nil
		case err == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden) && !reauthed && c.cfg.Certificate == nil:
			// The session expired (or the user's password changed): log in again once.
			reauthed = true
			c.dropSession()
			continue
		case err == nil && !retryable(status):
			apiErr := &APIError{Method: method, Path: path, Status: status}
			_ = json.Unmarshal(respBody, apiErr)
			return apiErr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt >= c.cfg.MaxRetries {
			if err != nil {
				return fmt.Errorf("NSX %s %s: %w (after %d retries)", method, path, err, attempt)
			}
			apiErr := &APIError{Method: method, Path: path, Status: status}
			_ = json.Unmarshal(respBody, apiErr)
			return apiErr
		}
		if err != nil {
			c.nextManager()
		}
		// Full jitter: anywhere up to the doubled delay, so that clients
		// throttled together do not come back together.
		delay := time.Duration(rand.Int64N(int64(backoff)) + 1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

// once sends one request within the limits.
func (c *Client) once(ctx context.Context, method, path string, payload []byte) (int, []byte, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return 0, nil, err
	}
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	defer func() { <-c.slots }()
	if c.cfg.Certificate == nil {
		if err := c.ensureSession(ctx); err != nil {
			return 0, nil, err
		}
	}
	base, cookie, xsrf := c.current()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("X-Allow-Overwrite", "true")
	}
	if cookie != "" {
		req.Header.Set("Cookie", "JSESSIONID="+cookie)
		req.Header.Set("X-XSRF-TOKEN", xsrf)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(method, 0, time.Since(start))
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	c.observe(method, resp.StatusCode, time.Since(start))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

func (c *Client) observe(method string, status int, d time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(method, status, d)
	}
}

func (c *Client) current() (string, string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg.Managers[c.manager], c.cookie, c.xsrf
}

func (c *Client) nextManager() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.manager = (c.manager + 1) % len(c.cfg.Managers)
	c.cookie, c.xsrf = "", ""
}

func (c *Client) dropSession() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookie, c.xsrf = "", ""
}

// ensureSession logs in (POST /api/session/create) when there is no session.
// NSX answers a session's requests faster than basic auth's, which it checks
// against its password store every time.
func (c *Client) ensureSession(ctx context.Context) error {
	base, cookie, _ := c.current()
	if cookie != "" {
		return nil
	}
	// Logging in is a request like any other to NSX's limits.
	if err := c.limiter.Wait(ctx); err != nil {
		return err
	}
	form := url.Values{"j_username": {c.cfg.Username}, "j_password": {c.cfg.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/session/create", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(http.MethodPost, 0, time.Since(start))
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	c.observe(http.MethodPost, resp.StatusCode, time.Since(start))
	if resp.StatusCode != http.StatusOK {
		// The password is never part of the error.
		return &APIError{Method: http.MethodPost, Path: "/api/session/create", Status: resp.StatusCode, Message: "logging in as " + c.cfg.Username + " failed"}
	}
	var session string
	for _, ck := range resp.Cookies() {
		if ck.Name == "JSESSIONID" {
			session = ck.Value
		}
	}
	if session == "" {
		return errors.New("NSX session: no JSESSIONID cookie in the answer")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cookie, c.xsrf = session, resp.Header.Get("X-XSRF-TOKEN")
	return nil
}
