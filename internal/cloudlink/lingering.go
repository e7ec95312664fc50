package cloudlink

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Lingering close bounds: after an answer given before the request body was
// read to its end, the server keeps reading (and discarding) at most this
// much of the rest, for at most this long, before it closes the connection.
const (
	LingerMaxBytes = 1 << 20
	LingerMaxTime  = 2 * time.Second
)

// lingeringClose lets every client read an early answer (413 for an
// oversized body, 401 before the body was read, 405, 429...).
//
// A server that answers and closes while the client is still sending makes
// the kernel reset the connection over the unread bytes; clients that write
// the whole body before reading (Python's urllib, many SDKs) then fail on
// their write and never see the answer. net/http's own remedy stops at
// 256 KiB of unread body. Here the answer goes out with "Connection: close",
// is flushed, and the rest of the body is read and dropped, bounded by
// LingerMaxBytes and LingerMaxTime so that lingering cannot be used to hold
// connections open; then the server closes (with TLS close_notify on the
// HTTPS listener). HTTP/2 needs none of this: a stream is reset on its own.
func lingeringClose(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// Full duplex keeps the body readable after the answer was written;
		// without it net/http closes the body as the header goes out.
		if err := rc.EnableFullDuplex(); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		body := &trackedBody{rc: r.Body, want: r.ContentLength}
		r.Body = body
		lw := &lingerWriter{ResponseWriter: w, body: body}
		next.ServeHTTP(lw, r)
		if body.consumed() {
			lw.release() //nolint:errcheck // the client went away
			return
		}
		if err := lw.release(); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		rc.SetReadDeadline(time.Now().Add(LingerMaxTime)) //nolint:errcheck // best effort: ReadTimeout still bounds it
		io.CopyN(io.Discard, body.rc, LingerMaxBytes)     //nolint:errcheck // whatever the client does now, we close
	})
}

// trackedBody records whether the handler read the request body to its end.
type trackedBody struct {
	rc   io.ReadCloser
	want int64 // Content-Length, -1 when chunked
	n    int64
	eof  bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *trackedBody) Close() error { return b.rc.Close() }

func (b *trackedBody) consumed() bool { return b.eof || (b.want >= 0 && b.n >= b.want) }

// maxHeld bounds the early answer held back to be sent with a
// Content-Length; error answers are a few hundred bytes.
const maxHeld = 64 << 10

// lingerWriter holds back an answer that starts before the request body has
// been read to its end, so that it can go out whole, with Content-Length and
// "Connection: close", before the rest of the body is drained: a chunked
// answer would not end until the drain did.
type lingerWriter struct {
	http.ResponseWriter
	body    *trackedBody
	status  int  // 0 until WriteHeader
	holding bool // the answer is in held, not yet written
	held    []byte
}

func (w *lingerWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		if code < 200 {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	w.status = code
	if w.body.consumed() {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.Header().Set("Connection", "close")
	w.holding = true
}

func (w *lingerWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.holding {
		return w.ResponseWriter.Write(p)
	}
	if len(w.held)+len(p) <= maxHeld {
		w.held = append(w.held, p...)
		return len(p), nil
	}
	// Too large to hold: stream it (chunked) after all.
	if err := w.flushHeld(false); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(p)
}

// FlushError serves http.ResponseController.Flush from a handler: what is
// held goes out first.
func (w *lingerWriter) FlushError() error {
	if err := w.release(); err != nil {
		return err
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// release writes whatever is held, whole, with its length; an answer never
// started is an empty 200, as net/http would send.
func (w *lingerWriter) release() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.holding {
		return nil
	}
	return w.flushHeld(true)
}

func (w *lingerWriter) flushHeld(withLength bool) error {
	w.holding = false
	if withLength {
		w.Header().Set("Content-Length", strconv.Itoa(len(w.held)))
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, err := w.ResponseWriter.Write(w.held)
	w.held = nil
	return err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *lingerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
