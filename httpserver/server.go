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

// Server serves a [prometheus.Gatherer] over HTTP. Create it with [New],
// then call [Server.Start] once and [Server.Shutdown] when done. Its methods
// are safe for concurrent use.
type Server struct {
	opts    Options
	hs      *http.Server
	slogger *slog.Logger
	ready   chan struct{} // closed when the serve loop has ended

	mu       sync.Mutex
	started  bool
	shutdown bool
	ln       net.Listener // set by Start
	serveErr error        // set before ready is closed
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
	h, err := newHandler(g, o)
	if err != nil {
		return nil, err
	}
	return &Server{
		opts: o,
		hs: &http.Server{
			Addr:              o.Addr,
			Handler:           h,
			ReadHeaderTimeout: o.ReadHeaderTimeout,
			ReadTimeout:       o.ReadTimeout,
			WriteTimeout:      o.WriteTimeout,
			IdleTimeout:       o.IdleTimeout,
			ErrorLog:          zap.NewStdLog(o.Logger),
		},
		slogger: slogFromZap(o.Logger),
		ready:   make(chan struct{}),
	}, nil
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

// Start binds [Options.Addr] and serves in the background. Binding is
// synchronous: an address already in use, or a web configuration file that
// has become invalid since [New], is returned here. Start may be called only
// once, and not after [Server.Shutdown].
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkStartable(); err != nil {
		return err
	}
	if err := validateWebConfig(s.opts.WebConfigFile); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("httpserver: listen on %s: %w", s.opts.Addr, err)
	}
	s.startLocked(ln)
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

// startLocked serves on ln in the background. s.mu must be held.
func (s *Server) startLocked(ln net.Listener) {
	s.started = true
	s.ln = ln
	go s.serve(ln)
}

// serve runs exporter-toolkit's [web.Serve] (plain HTTP when no web
// configuration file is set) until the server is shut down or fails.
func (s *Server) serve(ln net.Listener) {
	file := s.opts.WebConfigFile
	err := web.Serve(ln, s.hs, &web.FlagConfig{WebConfigFile: &file}, s.slogger)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("httpserver: serving on %s: %w", ln.Addr(), err)
		s.opts.Logger.Error("httpserver: metrics server stopped", zap.Error(err))
	}
	// web.Serve may return before handing ln to net/http (an invalid web
	// configuration), in which case nobody else closes it.
	if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		s.opts.Logger.Warn("httpserver: closing listener", zap.Error(cerr))
	}
	s.mu.Lock()
	s.serveErr = err
	s.mu.Unlock()
	close(s.ready)
}

// Addr returns the address the server is bound to once [Server.Start] has
// succeeded (with the real port when [Options.Addr] asked for port 0), and
// [Options.Addr] (after defaults) before that.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.opts.Addr
}

// Wait blocks until the background serve loop ends and returns why: nil
// after [Server.Shutdown], otherwise the error that stopped it (which has
// also been logged). It returns an error at once if the server was never
// started.
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

// Shutdown stops the server gracefully: it closes the listener, lets
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
	if err := s.hs.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("httpserver: graceful shutdown: %w", err))
		if cerr := s.hs.Close(); cerr != nil {
			errs = append(errs, fmt.Errorf("httpserver: closing connections: %w", cerr))
		}
	}
	<-s.ready
	s.mu.Lock()
	errs = append(errs, s.serveErr)
	s.mu.Unlock()
	return errors.Join(errs...)
}
