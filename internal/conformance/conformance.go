// Package conformance plays the partner-cloud (control-side) role of the
// T/CHEAA 0001.1—2023 cloud-to-cloud interface against any endpoint that
// implements the project's profile (cic-profile.md, docs/protocol.md) and
// reports, check by check, what conforms. It speaks only the wire format:
// it must not import the server's packages (imports_test.go enforces it).
package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Status is a check's outcome.
type Status string

// Outcomes of a check.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is one check's outcome as reported.
type Result struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Summary counts the outcomes.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Report is the outcome of a run (the --json shape).
type Report struct {
	Target  string   `json:"target"`
	Checks  []Result `json:"checks"`
	Summary Summary  `json:"summary"`
}

// Groups in report order.
var Groups = []string{"oauth", "discovery", "query", "control", "errors", "subscription"}

// Options configure a run.
type Options struct {
	Target       string // base URL of the endpoint, https://host[:port]
	ClientID     string
	ClientSecret string // empty for a public client
	RedirectURI  string
	// Username and Password drive the sign-in and consent forms; or
	// RefreshToken starts from a link made elsewhere.
	Username, Password string
	RefreshToken       string
	// TLS trusts the target (roots, or InsecureSkipVerify).
	TLS *tls.Config
	// Subscription checks run only with a callback: the kit serves HTTPS on
	// CallbackListen, and the target is given CallbackURL.
	CallbackListen, CallbackURL string
	CallbackCert                *tls.Certificate // nil: self-signed
	CallbackHMACSecret          string
	// MaxTokenWait bounds how long the kit waits for an access token to
	// expire (errors.token-expired); default 2 minutes.
	MaxTokenWait time.Duration
	// Progress is told before each check runs.
	Progress func(done, total int, id string)
}

// Validate reports a usage error in the options.
func (o *Options) Validate() error {
	u, err := url.Parse(o.Target)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("--target %q is not an absolute URL", o.Target)
	case u.Scheme != "https":
		return errors.New("--target must be https: the profile allows HTTPS only (§7.1)")
	case o.ClientID == "":
		return errors.New("--client-id is required")
	case o.RedirectURI == "":
		return errors.New("--redirect-uri is required")
	case o.RefreshToken == "" && (o.Username == "" || o.Password == ""):
		return errors.New("give --username and --password, or --refresh-token")
	case o.RefreshToken != "" && (o.Username != "" || o.Password != ""):
		return errors.New("give either --username/--password or --refresh-token, not both")
	case (o.CallbackListen == "") != (o.CallbackURL == ""):
		return errors.New("--callback-listen and --callback-url go together")
	}
	if o.CallbackURL != "" {
		cu, err := url.Parse(o.CallbackURL)
		if err != nil || cu.Scheme != "https" || cu.Host == "" {
			return fmt.Errorf("--callback-url %q must be an absolute https URL", o.CallbackURL)
		}
	}
	return nil
}

// check is one conformance check: what it requires (with the profile
// section) and how it runs.
type check struct {
	id, group string
	requires  string
	run       func(r *run) outcome
}

// outcome is what a check's run found.
type outcome struct {
	status          Status
	problem         string
	sent, got, note string
}

func passed(sent, got string) outcome { return outcome{status: Pass, sent: sent, got: got} }

func failed(problem, sent, got string) outcome {
	return outcome{status: Fail, problem: problem, sent: sent, got: got}
}

func skipped(reason string) outcome { return outcome{status: Skip, problem: reason} }

// detail words an outcome for the report.
func (c check) detail(o outcome) string {
	var parts []string
	switch o.status {
	case Fail:
		parts = append(parts, "FAILED: "+o.problem)
	case Skip:
		parts = append(parts, "skipped: "+o.problem)
	}
	if o.sent != "" {
		parts = append(parts, "sent "+o.sent)
	}
	if o.got != "" {
		parts = append(parts, "got "+o.got)
	}
	if o.note != "" {
		parts = append(parts, o.note)
	}
	parts = append(parts, "requires "+c.requires)
	return strings.Join(parts, " | ")
}

// run is the state of one conformance run.
type run struct {
	ctx   context.Context
	opts  Options
	base  string
	hc    *http.Client // API calls: no redirects followed
	msg   atomic.Int64
	runID string

	b             *browser
	signInRefused error // once refused, the password is never sent again
	main          *link // the link the service checks use
	linkErr       error // why there is no main link
	firstTok      string
	firstExp      time.Time
	devices       []wireDevice
	ctl           *controlTarget // the device and property that confirms Control
	cb            *callbackServer
	subID         string
}

// Run runs every check and returns the report. The error is for failures
// that prevent running at all (the callback listener cannot start).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxTokenWait == 0 {
		opts.MaxTokenWait = 2 * time.Minute
	}
	r := &run{ctx: ctx, opts: opts, base: strings.TrimRight(opts.Target, "/")}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = opts.TLS
	r.hc = &http.Client{Transport: tr, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	if opts.CallbackListen != "" {
		cb, err := startCallback(opts)
		if err != nil {
			return nil, err
		}
		defer cb.close()
		r.cb = cb
	}
	checks := allChecks()
	results := make(map[string]Result, len(checks))
	for i, c := range checks {
		if opts.Progress != nil {
			opts.Progress(i, len(checks), c.id)
		}
		var o outcome
		if err := ctx.Err(); err != nil {
			o = skipped("run cancelled: " + err.Error())
		} else {
			o = c.run(r)
		}
		results[c.id] = Result{ID: c.id, Group: c.group, Status: o.status, Detail: c.detail(o)}
	}
	if opts.Progress != nil {
		opts.Progress(len(checks), len(checks), "")
	}
	rep := &Report{Target: opts.Target}
	for _, g := range Groups {
		for _, c := range checks {
			if c.group != g {
				continue
			}
			res := results[c.id]
			rep.Checks = append(rep.Checks, res)
			switch res.Status {
			case Pass:
				rep.Summary.Passed++
			case Fail:
				rep.Summary.Failed++
			default:
				rep.Summary.Skipped++
			}
		}
	}
	return rep, nil
}

// allChecks lists the checks in the order they run: metadata, linking,
// the service checks on the main link, subscriptions (ending with Unlink),
// then the checks that end links of their own.
func allChecks() []check {
	var cs []check
	cs = append(cs, metadataChecks()...)
	cs = append(cs, linkChecks()...)
	cs = append(cs, refreshChecks()...)
	cs = append(cs, discoveryChecks()...)
	cs = append(cs, queryChecks()...)
	cs = append(cs, controlChecks()...)
	cs = append(cs, errorChecks()...)
	cs = append(cs, subscriptionChecks()...)
	cs = append(cs, destructiveChecks()...)
	return cs
}

// IDs lists every check id (for docs and tests).
func IDs() []string {
	var out []string
	for _, c := range allChecks() {
		out = append(out, c.id)
	}
	slices.Sort(out)
	return out
}

// needLink skips a check when there is no main link.
func (r *run) needLink() (outcome, bool) {
	if r.main == nil {
		reason := "not linked"
		if r.linkErr != nil {
			reason += ": " + r.linkErr.Error()
		}
		return skipped(reason), false
	}
	return outcome{}, true
}

// sleep waits d or until the run is cancelled.
func (r *run) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// poll calls cond every 50 ms until it is true or within passes.
func (r *run) poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || r.sleep(50*time.Millisecond) != nil {
			return cond()
		}
	}
}
