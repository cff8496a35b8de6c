package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/exporter-toolkit/web"
	"go.uber.org/zap"
)

// Server serves a [prometheus.Gatherer] over HTTP, on [Options.Addr] and,
// if set, [Options.ScrapeAddr]. Create it with [New], then call
// [Server.Start] once and [Server.Shutdown] when done. Its methods are safe
// for concurrent use.
type Server struct {
	opts      Options
	listeners []*listener // Addr's, then ScrapeAddr's if set
	slogger   *slog.Logger
	ready     chan struct{} // closed when every serve loop has ended

	mu       sync.Mutex
	started  bool
	shutdown bool
	serveErr error // the first error that ended a serve loop; set before ready is closed
}

// listener is one address a Server serves on, with its own handler.
type listener struct {
	hs *http.Server
	ln net.Listener // set by Start
}

// New validates opts, applies the defaults documented on [Options] and
// builds the handler for g. Nothing is bound until [Server.Start].
//
// New fails if g is nil or holds a nil pointer or func (a nil
// *prometheus.Registry, say), if [Options.Registerer] holds one, if an
// option is invalid (the error names it), if [Options.WebConfigFile] cannot
// be read or is not a valid exporter-toolkit web configuration, or if the
// handler metrics cannot be registered.
func New(g prometheus.Gatherer, opts Options) (*Server, error) {
	if g == nil {
		return nil, errors.New("httpserver: New needs a non-nil prometheus.Gatherer")
	}
	if holdsNil(g) {
		return nil, fmt.Errorf("httpserver: New needs a non-nil prometheus.Gatherer, got a nil %T", g)
	}
	if opts.Registerer != nil && holdsNil(opts.Registerer) {
		return nil, fmt.Errorf("httpserver: Options.Registerer is a nil %T (leave the field nil for the default)", opts.Registerer)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, slogger: slogFromZap(o.Logger), ready: make(chan struct{})}
	addrs := []struct {
		addr        string
		maxInFlight int
	}{{o.Addr, o.MaxRequestsInFlight}}
	if o.ScrapeAddr != "" {
		addrs = append(addrs, struct {
			addr        string
			maxInFlight int
		}{o.ScrapeAddr, o.ScrapeMaxRequestsInFlight})
	}
	for _, a := range addrs {
		h, err := newHandler(g, o, a.maxInFlight)
		if err != nil {
			return nil, err
		}
		s.listeners = append(s.listeners, &listener{hs: &http.Server{
			Addr:              a.addr,
			Handler:           h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			ErrorLog:          zap.NewStdLog(o.Logger),
		}})
	}
	return s, nil
}

// holdsNil reports whether v, a non-nil interface value, holds a nil
// pointer or func, whose methods would panic when called.
func holdsNil(v any) bool {
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func:
		return rv.IsNil()
	}
	return false
}

// Start binds [Options.Addr] (and [Options.ScrapeAddr], if set) and
// serves in the background. Binding is synchronous: an address already in
// use, or a web configuration file that has become invalid since [New], is
// returned here, and then nothing is bound. Start may be called only once,
// and not after [Server.Shutdown].
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkStartable(); err != nil {
		return err
	}
	if err := validateWebConfig(s.opts.WebConfigFile); err != nil {
		return err
	}
	for i, l := range s.listeners {
		ln, err := net.Listen("tcp", l.hs.Addr)
		if err != nil {
			for _, bound := range s.listeners[:i] {
				if cerr := bound.ln.Close(); cerr != nil {
					err = errors.Join(err, cerr)
				}
				bound.ln = nil
			}
			return fmt.Errorf("httpserver: listen on %s: %w", l.hs.Addr, err)
		}
		l.ln = ln
	}
	s.startLocked()
	return nil
}

func (s *Server) checkStartable() error {
	switch {
	case s.shutdown:
		return errors.New("httpserver: Start called after Shutdown")
	case s.started:
		return errors.New("httpserver: Start called twice")
	}
	return nil
}

// startLocked serves every bound listener in the background, and closes
// ready once all their serve loops have ended. s.mu must be held.
func (s *Server) startLocked() {
	s.started = true
	var wg sync.WaitGroup
	for _, l := range s.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serve(l)
		}()
	}
	go func() {
		wg.Wait()
		close(s.ready)
	}()
}

// serve runs exporter-toolkit's [web.Serve] (plain HTTP when no web
// configuration file is set) on l until the server is shut down or fails.
// An error that ends it is logged, kept for [Server.Wait] and closes the
// other listeners, so that the server stops as a whole.
func (s *Server) serve(l *listener) {
	file := s.opts.WebConfigFile
	err := web.Serve(l.ln, l.hs, &web.FlagConfig{WebConfigFile: &file}, s.slogger)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("httpserver: serving on %s: %w", l.ln.Addr(), err)
		s.opts.Logger.Error("httpserver: metrics server stopped", zap.Error(err))
	}
	// web.Serve may return before handing ln to net/http (an invalid web
	// configuration), in which case nobody else closes it.
	if cerr := l.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		s.opts.Logger.Warn("httpserver: closing listener", zap.Error(cerr))
	}
	if err == nil {
		return
	}
	s.mu.Lock()
	if s.serveErr == nil {
		s.serveErr = err
	}
	s.mu.Unlock()
	for _, other := range s.listeners {
		if other != l {
			if cerr := other.hs.Close(); cerr != nil {
				s.opts.Logger.Warn("httpserver: closing the other listeners", zap.Error(cerr))
			}
		}
	}
}

// Addr returns the address the server is bound to once [Server.Start] has
// succeeded (with the real port when [Options.Addr] asked for port 0), and
// [Options.Addr] (after defaults) before that.
func (s *Server) Addr() string {
	return s.addr(s.listeners[0])
}

// ScrapeAddr is [Server.Addr] for [Options.ScrapeAddr]: the address to
// give the Prometheus servers' scrape configurations. It is empty when
// ScrapeAddr is not set.
func (s *Server) ScrapeAddr() string {
	if len(s.listeners) < 2 {
		return ""
	}
	return s.addr(s.listeners[1])
}

// addr returns l's bound address, or its configured one before Start.
func (s *Server) addr(l *listener) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.hs.Addr
}

// Wait blocks until the background serve loops end and returns why: nil
// after [Server.Shutdown], otherwise the error that stopped one of them
// (which has also been logged, and has closed the other listener). It
// returns an error at once if the server was never started.
func (s *Server) Wait() error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return errors.New("httpserver: Wait called on a server that was not started")
	}
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}

// Shutdown stops the server gracefully: it closes the listeners, lets
// in-flight requests (a scrape blocked in the gatherer included) finish,
// closes idle connections, and waits for the serve loop to end. See
// [http.Server.Shutdown].
//
// If ctx ends first, the remaining connections are closed forcibly and the
// context's error is returned. An error that had stopped the serve loop (see
// [Server.Wait]) is returned too. Shutdown on a server that was never
// started returns nil and prevents a later Start. It may be called more than
// once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	var errs []error
	for _, l := range s.listeners {
		if err := l.hs.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("httpserver: graceful shutdown of %s: %w", l.hs.Addr, err))
			if cerr := l.hs.Close(); cerr != nil {
				errs = append(errs, fmt.Errorf("httpserver: closing connections of %s: %w", l.hs.Addr, cerr))
			}
		}
	}
	<-s.ready
	s.mu.Lock()
	errs = append(errs, s.serveErr)
	s.mu.Unlock()
	return errors.Join(errs...)
}
