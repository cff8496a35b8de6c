package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/grpcmetrics/grpcmetrics/examples/datanode"
	"github.com/grpcmetrics/grpcmetrics/examples/internal/zaplog"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/commonpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/datapb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/milvuspb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/proxypb"
	"github.com/grpcmetrics/grpcmetrics/examples/proto/rootcoordpb"
	"github.com/grpcmetrics/grpcmetrics/examples/proxy"
	"github.com/grpcmetrics/grpcmetrics/examples/recoverylog"
	"github.com/grpcmetrics/grpcmetrics/examples/rootcoord"
	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// config is what the command line sets.
type config struct {
	proxyAddr     string        // gRPC listen address of the proxy
	rootCoordAddr string        // gRPC listen address of the rootcoord
	dataNodeAddr  string        // gRPC listen address of the data node
	metricsAddr   string        // listen address of /metrics
	steady        bool          // keep sending traffic until stopped
	interval      time.Duration // time between two steady calls
	clientLimit   int           // client_id values the interceptor tracks
	verbose       bool          // log every call, and the panics' stacks
	logs          io.Writer     // where logs go; nil: stderr
}

// demo is the running pair of servers, the /metrics endpoint and the
// clients the demo's own traffic goes through.
type demo struct {
	reg    *prometheus.Registry
	proxy  milvuspb.MilvusServiceClient
	pi     proxypb.ProxyClient // the proxy's internal service
	rc     rootcoordpb.RootCoordClient
	dn     datapb.DataNodeClient
	logger *zap.Logger
	// clientMetrics counts the demo's own calls.
	clientMetrics *interceptor.ClientMetrics
	servers       []*server // in start order, for Close
	proxyS        *server
	rcS           *server
	dnS           *server
	metrics       *httpserver.Server
}

// server is one gRPC server on its listener, with a client connection to it.
type server struct {
	srv  *grpc.Server
	lis  net.Listener
	conn *grpc.ClientConn
	done chan error
}

// start builds the demo's metrics, serves the proxy, the rootcoord, the data
// node (all with gRPC reflection) and /metrics on the addresses of cfg, and
// connects the demo's clients. Close stops it all.
func start(cfg config, logger *zap.Logger) (_ *demo, err error) {
	reg := prometheus.NewRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	methods, err := methodmap.Default(m)
	if err != nil {
		return nil, err
	}
	status := interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
	latency := interceptor.WithHistogram(interceptor.Histogram{})
	ic, err := interceptor.New(methods,
		interceptor.WithLogger(logger),
		status,
		interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
		interceptor.WithClientLimit(cfg.clientLimit),
		latency,
	)
	if err != nil {
		return nil, err
	}
	if err := ic.Register(reg); err != nil {
		return nil, err
	}
	// The demo's own clients are counted too, as a proxy would count its
	// calls to rootcoord: grpc_client_* and
	// grpcmetrics_client_response_failed_total.
	cm, err := interceptor.NewClientMetrics(interceptor.WithLogger(logger), status, latency)
	if err != nil {
		return nil, err
	}
	if err := cm.Register(reg); err != nil {
		return nil, err
	}
	// The servers' own logs, a line per call and the stacks of the panics
	// that the workload provokes on purpose, show only with -v.
	calls := zap.NewNop()
	if cfg.verbose {
		calls = logger
	}
	chain := grpc.ChainUnaryInterceptor(
		// Outermost: a panic that the interceptor counted and passed on is
		// logged here, and the client gets no panic value or stack.
		recovery.UnaryServerInterceptor(recoverylog.Option(calls)),
		// With -v every call is logged through zap: OK calls at debug
		// level, the others by their code.
		logging.UnaryServerInterceptor(zaplog.Logger(calls),
			logging.WithLogOnEvents(logging.FinishCall),
			logging.WithLevels(func(c codes.Code) logging.Level {
				if c == codes.OK {
					return logging.LevelDebug
				}
				return logging.DefaultServerCodeToLevel(c)
			})),
		ic.UnaryServerInterceptor(),
	)

	d := &demo{reg: reg, logger: logger, clientMetrics: cm}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.Close())
		}
	}()
	// NewGRPCServer registers the gRPC reflection service too, so grpcurl
	// and ghz find the methods without the .proto files.
	if d.proxyS, err = d.serve("proxy", cfg.proxyAddr, proxy.New().NewGRPCServer(chain)); err != nil {
		return nil, err
	}
	if d.rcS, err = d.serve("rootcoord", cfg.rootCoordAddr, rootcoord.New().NewGRPCServer(chain)); err != nil {
		return nil, err
	}
	if d.dnS, err = d.serve("datanode", cfg.dataNodeAddr, datanode.New().NewGRPCServer(chain)); err != nil {
		return nil, err
	}
	d.proxy = milvuspb.NewMilvusServiceClient(d.proxyS.conn)
	d.pi = proxypb.NewProxyClient(d.proxyS.conn)
	d.rc = rootcoordpb.NewRootCoordClient(d.rcS.conn)
	d.dn = datapb.NewDataNodeClient(d.dnS.conn)

	hs, err := httpserver.New(reg, httpserver.Options{Addr: cfg.metricsAddr, Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := hs.Start(); err != nil {
		return nil, fmt.Errorf("metrics on %s: %w", cfg.metricsAddr, err)
	}
	d.metrics = hs
	return d, nil
}

// serve starts srv on addr and connects a client to it.
func (d *demo) serve(name, addr string, srv *grpc.Server) (*server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", name, addr, err)
	}
	s := &server{srv: srv, lis: lis, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(lis) }()
	d.servers = append(d.servers, s)
	s.conn, err = grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(d.clientMetrics.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(d.clientMetrics.StreamClientInterceptor()),
	)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", name, err)
	}
	return s, nil
}

// proxyAddr is the address the proxy listens on.
func (d *demo) proxyAddr() string { return d.proxyS.lis.Addr().String() }

// rootCoordAddr is the address the rootcoord listens on.
func (d *demo) rootCoordAddr() string { return d.rcS.lis.Addr().String() }

// dataNodeAddr is the address the data node listens on.
func (d *demo) dataNodeAddr() string { return d.dnS.lis.Addr().String() }

// metricsAddr is the address /metrics is served on.
func (d *demo) metricsAddr() string { return d.metrics.Addr() }

// Close stops the /metrics server and the gRPC servers, waiting for calls in
// flight, and closes the clients.
func (d *demo) Close() error {
	var errs []error
	if d.metrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.metrics.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down /metrics: %w", err))
		}
	}
	for _, s := range d.servers {
		if s.conn != nil {
			if err := s.conn.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing client: %w", err))
			}
		}
		s.srv.GracefulStop()
		if err := <-s.done; err != nil {
			errs = append(errs, fmt.Errorf("serving %s: %w", s.lis.Addr(), err))
		}
	}
	return errors.Join(errs...)
}
