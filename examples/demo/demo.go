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
	sets          metricSets    // the metric sets served
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
	// clients counts the demo's own calls; nil without the
	// provider set.
	clients *interceptor.ClientInstall
	sets    metricSets // the sets served
	servers []*server  // in start order, for Close
	proxyS  *server
	rcS     *server
	dnS     *server
	metrics *httpserver.Server
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
//
// Each server counts its calls into the sets of cfg.sets through one
// interceptor.ServerInstall, registered with the label server="proxy" (or
// "rootcoord", "datanode"), so that three servers' families sit on one
// registry without clashing. Milvus v2.0's counters, whose families name
// their component already, are registered once, without that label.
func start(cfg config, logger *zap.Logger) (_ *demo, err error) {
	reg := prometheus.NewRegistry()
	var methods *methodmap.Map
	if cfg.sets.milvus {
		m := registry.New()
		if err := m.Register(reg); err != nil {
			return nil, err
		}
		if methods, err = methodmap.Default(m); err != nil {
			return nil, err
		}
	}
	status := interceptor.WithStatus(interceptor.MilvusStatus[*commonpb.Status, commonpb.ErrorCode]())
	latency := interceptor.WithHistogram(interceptor.Histogram{})
	// The code on the histogram of the servers, so that the latency of
	// their successful calls is one query.
	latencyByCode := interceptor.WithHistogram(interceptor.Histogram{CodeLabel: true})
	d := &demo{reg: reg, logger: logger, sets: cfg.sets}
	if cfg.sets.provider {
		// The demo's own clients are counted too, as a proxy would count
		// its calls to rootcoord: grpc_client_* and
		// grpcmetrics_client_response_failed_total.
		cm, err := interceptor.NewClientMetrics()
		if err != nil {
			return nil, err
		}
		clients, err := interceptor.NewClientInstall(interceptor.ClientSets{Provider: cm}, interceptor.WithLogger(logger), status, latency)
		if err != nil {
			return nil, err
		}
		if err := clients.Register(reg); err != nil {
			return nil, err
		}
		d.clients = clients
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
	)
	// inst is what one server counts with: the counting interceptors
	// follow chain, inside it.
	inst := installer{cfg: cfg, reg: reg, methods: methods, logger: logger, opts: []interceptor.InstallOption{interceptor.WithLogger(logger), status, latencyByCode}}

	defer func() {
		if err != nil {
			err = errors.Join(err, d.Close())
		}
	}()
	// NewGRPCServer registers the gRPC reflection service too, so grpcurl
	// and ghz find the methods without the .proto files.
	if d.proxyS, err = d.serve("proxy", cfg.proxyAddr, inst, proxy.New().NewGRPCServer, chain); err != nil {
		return nil, err
	}
	if d.rcS, err = d.serve("rootcoord", cfg.rootCoordAddr, inst, rootcoord.New().NewGRPCServer, chain, interceptor.WithRootCoordDDL()); err != nil {
		return nil, err
	}
	if d.dnS, err = d.serve("datanode", cfg.dataNodeAddr, inst, datanode.New().NewGRPCServer, chain); err != nil {
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

// installer builds the metric sets of one server.
type installer struct {
	cfg     config
	reg     *prometheus.Registry
	methods *methodmap.Map
	logger  *zap.Logger
	opts    []interceptor.InstallOption // the install's: logger, status rule, histogram with its code
}

// sets builds the sets of cfg.sets for the server called name and their
// install, registered on the registry with the label server=name. Milvus
// 2.6's counters are the proxy's families, or with milvus26 (the
// rootcoord's) WithRootCoordDDL; the data node has none, as in Milvus. It
// returns a nil install when no set applies to the server.
func (in installer) sets(name string, milvus26 ...interceptor.Milvus26Option) (*interceptor.ServerInstall, interceptor.ServerSets, error) {
	var sets interceptor.ServerSets
	var err error
	if in.cfg.sets.milvus {
		if sets.Milvus, err = interceptor.NewMilvusCounters(in.methods,
			interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]()),
			interceptor.WithClientLimit(in.cfg.clientLimit)); err != nil {
			return nil, sets, err
		}
	}
	if in.cfg.sets.provider {
		// The tenant of each call, bounded, on every family; the calls
		// in flight per method.
		if sets.Provider, err = interceptor.NewServerMetrics(interceptor.WithInFlight(), interceptor.WithContextLabels(tenantLabels())); err != nil {
			return nil, sets, err
		}
	}
	if in.cfg.sets.a66 {
		if sets.A66, err = interceptor.NewA66(); err != nil {
			return nil, sets, err
		}
	}
	if in.cfg.sets.milvus26 && name != "datanode" {
		if sets.Milvus26, err = interceptor.NewMilvus26(append([]interceptor.Milvus26Option{interceptor.WithReqLatency()}, milvus26...)...); err != nil {
			return nil, sets, err
		}
	}
	if sets == (interceptor.ServerSets{}) {
		return nil, sets, nil
	}
	s, err := interceptor.NewServerInstall(sets, in.opts...)
	if err != nil {
		return nil, sets, err
	}
	if err := s.Register(prometheus.WrapRegistererWith(prometheus.Labels{"server": name}, in.reg)); err != nil {
		return nil, sets, err
	}
	return s, sets, nil
}

// serve builds the server called name with newServer, counted by the sets
// of inst (milvus26 are the options of its Milvus 2.6 counters), starts it
// on addr and connects a client to it.
func (d *demo) serve(name, addr string, inst installer, newServer func(...grpc.ServerOption) *grpc.Server, chain grpc.ServerOption,
	milvus26 ...interceptor.Milvus26Option) (*server, error) {
	counting, sets, err := inst.sets(name, milvus26...)
	if err != nil {
		return nil, fmt.Errorf("%s metrics: %w", name, err)
	}
	opts := []grpc.ServerOption{chain}
	if counting != nil {
		opts = append(opts, counting.ServerOptions()...)
	}
	srv := newServer(opts...)
	if counting != nil {
		if err := counting.Init(srv); err != nil { // after registering the services, before serving
			srv.Stop()
			return nil, fmt.Errorf("%s metrics: %w", name, err)
		}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("%s on %s: %w", name, addr, err)
	}
	s := &server{srv: srv, lis: lis, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(lis) }()
	d.servers = append(d.servers, s)
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if d.clients != nil {
		dial = append(dial, d.clients.DialOptions()...)
	}
	if sets.A66 != nil {
		// gRPC's client side counts into the A66 set of the server
		// called, with its server label: the set's client side in an
		// install of its own.
		a66, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: sets.A66}, interceptor.WithLogger(d.logger))
		if err != nil {
			return nil, fmt.Errorf("%s client metrics: %w", name, err)
		}
		if err := a66.Register(prometheus.WrapRegistererWith(prometheus.Labels{"server": name}, d.reg)); err != nil {
			return nil, fmt.Errorf("%s client metrics: %w", name, err)
		}
		dial = append(dial, a66.DialOptions()...)
	}
	s.conn, err = grpc.NewClient(lis.Addr().String(), dial...)
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
