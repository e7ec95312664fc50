//go:build !gateway

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/hubagent/hubagent/internal/conformance"
)

const conformanceSynopsis = "--target URL --client-id ID [--client-secret S] --redirect-uri URI " +
	"(--username U --password P | --refresh-token T) [--ca-file F | --insecure] " +
	"[--callback-listen ADDR --callback-url URL] [--callback-cert FILE --callback-key FILE] " +
	"[--callback-hmac-secret S] [--json] [--junit FILE]"

// cmdConformance plays a partner cloud against an endpoint of the
// interface and reports, check by check, what conforms (docs/conformance.md).
func cmdConformance(ctx context.Context, env *Env, args []string) error {
	var c common
	var o conformance.Options
	var caFile, cbCert, cbKey, junit string
	var insecure bool
	fs := newFlags(env, "conformance", conformanceSynopsis, &c, true)
	fs.StringVar(&o.Target, "target", "", "base `URL` of the endpoint under test (https://host[:port])")
	fs.StringVar(&o.ClientID, "client-id", "", "the partner `ID` registered at the target")
	fs.StringVar(&o.ClientSecret, "client-secret", "", "the partner's `SECRET` (none for a public client)")
	fs.StringVar(&o.RedirectURI, "redirect-uri", "", "a redirect `URI` registered for the partner (never visited)")
	fs.StringVar(&o.Username, "username", "", "household `USER` for the sign-in form")
	fs.StringVar(&o.Password, "password", "", "household `PASSWORD` for the sign-in form")
	fs.StringVar(&o.RefreshToken, "refresh-token", "", "start from this refresh `TOKEN` instead of the forms")
	fs.StringVar(&caFile, "ca-file", "", "PEM `FILE` of the CA that signed the target's certificate")
	fs.BoolVar(&insecure, "insecure", false, "do not verify the target's certificate")
	fs.StringVar(&o.CallbackListen, "callback-listen", "", "`ADDR` the kit serves notifications (and its token endpoint) on")
	fs.StringVar(&o.CallbackURL, "callback-url", "", "the https `URL` the target posts notifications to")
	fs.StringVar(&cbCert, "callback-cert", "", "PEM certificate `FILE` for the callback listener (self-signed otherwise)")
	fs.StringVar(&cbKey, "callback-key", "", "PEM key `FILE` for the callback listener")
	fs.StringVar(&o.CallbackHMACSecret, "callback-hmac-secret", "", "shared `SECRET` to verify X-CIC-Signature on pushes")
	fs.StringVar(&junit, "junit", "", "also write JUnit XML to `FILE`")
	pos, err := parse(env, fs, conformanceSynopsis, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := o.Validate(); err != nil {
		return usagef("%v", err)
	}
	if caFile != "" && insecure {
		return usagef("give --ca-file or --insecure, not both")
	}
	if (cbCert == "") != (cbKey == "") {
		return usagef("--callback-cert and --callback-key go together")
	}
	if cbCert != "" && o.CallbackListen == "" {
		return usagef("--callback-cert needs --callback-listen and --callback-url")
	}
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // the user asked for --insecure
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("read --ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
		}
		o.TLS.RootCAs = pool
	}
	if cbCert != "" {
		pair, err := tls.LoadX509KeyPair(cbCert, cbKey)
		if err != nil {
			return fmt.Errorf("load --callback-cert/--callback-key: %w", err)
		}
		o.CallbackCert = &pair
	}
	if f, ok := env.Stderr.(*os.File); ok && isTerminal(f) {
		o.Progress = func(done, total int, id string) {
			if id == "" {
				fmt.Fprint(f, "\r\033[K")
				return
			}
			fmt.Fprintf(f, "\r\033[K[%d/%d] %s", done+1, total, id)
		}
	}
	rep, err := conformance.Run(ctx, o)
	if err != nil {
		return err
	}
	if junit != "" {
		f, err := os.Create(junit)
		if err != nil {
			return fmt.Errorf("write --junit: %w", err)
		}
		werr := rep.WriteJUnit(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write --junit: %w", werr)
		}
	}
	if c.json {
		err = rep.WriteJSON(env.Stdout)
	} else {
		err = rep.WriteTable(env.Stdout)
	}
	if err != nil {
		return err
	}
	if rep.Summary.Failed > 0 {
		return fmt.Errorf("%d of %d checks failed", rep.Summary.Failed, len(rep.Checks))
	}
	return nil
}
