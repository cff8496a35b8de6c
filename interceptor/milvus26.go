package interceptor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcmetrics/grpcmetrics/interceptor/internal/msgshape"
)

// The metric set of Milvus 2.6's request counters: milvus_proxy_req_count
// and milvus_proxy_req_latency, for every unary method, with db_name and
// collection_name bounded together as a pair by [boundedValues].

// DefaultCollectionLimit is the number of distinct (db_name,
// collection_name) pairs that [Milvus26] keeps unless
// [WithCollectionLimit] says otherwise.
const DefaultCollectionLimit = 1024

// MaxCollectionLimit is the largest limit [WithCollectionLimit] accepts:
// the most collections a Milvus 2.6 cluster holds by default.
const MaxCollectionLimit = 65536

// OverflowCollectionLabel is the db_name and the collection_name of the
// calls that [Milvus26] counts beyond its collection limit. Milvus accepts
// only letters, digits and underscores in database and collection names,
// so it is no name of a real collection.
const OverflowCollectionLabel = "grpcmetrics-overflow"

// DefaultDBName is the db_name that [Milvus26] gives a request of a type
// that Milvus fills with a database, when the request names none and the
// call carries no "dbname" metadata: Milvus's default database.
const DefaultDBName = "default"

// maxNameLabel is the longest db_name or collection_name label value, in
// bytes, that [Milvus26] exports: Milvus's longest name by default.
const maxNameLabel = 255

// Milvus26 counts the calls of a gRPC server as the proxy of Milvus 2.6
// counts its requests, in the release line of [WithLine] (by default
// [MilvusV2616], as Milvus v2.6.16 to v2.6.18 do):
//
//	milvus_proxy_req_count{node_id, function_name, status, db_name, collection_name}
//	milvus_proxy_req_latency{node_id, function_name}           (milliseconds; WithReqLatency)
//	milvus_proxy_grpc_latency{node_id, function_name, status}  (milliseconds; WithGRPCLatency)
//
// and, on [MilvusV2620] and [MilvusV2621], a label cause after status in
// milvus_proxy_req_count and milvus_proxy_grpc_latency.
//
// Build it with [NewMilvus26] and give it to [NewServerInstall] in
// [ServerSets].Milvus26, alone or beside other sets.
// It counts every unary method of every service it sees, with no table to
// maintain; stream calls are not counted, as in Milvus.
//
// Each call is counted as Milvus's request interceptor counts it
// (internal/distributed/proxy/request_interceptor.go at the line's
// release):
//   - node_id is the value of [WithNodeID], formatted once;
//   - function_name is the method's name, the last element of the full
//     method ("Search" for "/milvus.proto.milvus.MilvusService/Search");
//   - db_name and collection_name are what the request's GetDbName and
//     GetCollectionName methods return, "" for a request without them;
//     for the request types that Milvus's database interceptor fills (see
//     below), an empty db_name is the call's "dbname" metadata, or
//     [DefaultDBName] without one;
//   - status "total" when the call starts, and when it ends exactly one of
//     "rejected" (the handler returned an error), "retry" (the response's
//     status fails with code 8, rate limit, or 109, collection schema
//     mismatch), "fail" (the response's status fails otherwise), or
//     "success". The status is the whole response when it is a status
//     message, or its "status" field, read by the install's status rule
//     (see below); a response without one is a success. On the lines with
//     a cause, a failing status is read before an error, and a status of
//     code 10000 (Milvus's client cancellation) is a "fail", not a retry;
//     see [Milvus26Line] and docs/milvus26.md for the cause of each outcome.
//     [Milvus26.Abandon] counts "abandon", which Milvus's handlers write;
//   - with [WithReqLatency], milvus_proxy_req_latency observes the time of
//     each successful call, from before the handler (and the interceptors inside this one) to
//     after, in whole milliseconds, in Milvus's buckets 1, 2, 4 … 131072;
//   - with [WithGRPCLatency], milvus_proxy_grpc_latency observes the time
//     of every call that ends, by its status (and cause), as Milvus's
//     request interceptor does.
//
// Milvus's database interceptor fills an empty DbName for the requests of
// these types of package milvus.proto.milvus, which Milvus lists
// (internal/proxy/database_interceptor.go, the same from v2.6.16 through
// v2.6.20 and on the 2.6 branch): CreateCollection, DropCollection,
// TruncateCollection, HasCollection, LoadCollection, ReleaseCollection,
// DescribeCollection, BatchDescribeCollection, GetStatistics,
// GetCollectionStatistics, ShowCollections, AlterCollection,
// AlterCollectionField, AddCollectionFunction, AlterCollectionFunction,
// DropCollectionFunction, CreatePartition, DropPartition, HasPartition,
// LoadPartitions, ReleasePartitions, GetPartitionStatistics,
// ShowPartitions, GetLoadingProgress, GetLoadState, CreateIndex,
// DescribeIndex, DropIndex, AlterIndex, GetIndexBuildProgress,
// GetIndexState, Insert, Delete, Search, HybridSearch, Flush, Query,
// CreateAlias, DropAlias, AlterAlias, DescribeAlias, ListAliases, Import,
// ListImportTasks, RenameCollection, TransferReplica,
// GetPersistentSegmentInfo, GetQuerySegmentInfo, LoadBalance, GetReplicas,
// GetIndexStatistics, Upsert, GetFlushState, ManualCompaction,
// AddCollectionField, RunAnalyzer and OperatePrivilegeV2, and in 3.0 the
// types that milvus-proto v2.6 does not define, AddCollectionStructField,
// AlterCollectionSchema and the snapshot and external-collection requests
// (each "<Name>Request"). (It fills the entity's DbName of
// OperatePrivilege and SelectGrant too, which are no request's DbName.)
// Milvus26 gives db_name the value Milvus
// would fill in, without changing the request. It knows a request's type
// by its protobuf full name ("milvus.proto.milvus.SearchRequest"), worked
// out once per Go type, so it needs none of Milvus's packages; messages
// without generated Go types (dynamicpb) have no such name, and no
// GetDbName method either. Reading the metadata costs one allocation (grpc-go's
// accessor copies the values it finds), only for a request of such a type
// that names no database, in a call that carries "dbname"; every other
// warm call allocates nothing.
//
// Where it differs from Milvus, on purpose:
//   - db_name and collection_name are bounded: at most
//     [WithCollectionLimit] pairs are kept (the pair ("", "") aside); the
//     calls of further pairs count under [OverflowCollectionLabel] in both
//     labels, and each in grpcmetrics_collection_overflow_total;
//     grpcmetrics_collections is the number of pairs kept. Call
//     [Milvus26.RemoveCollection] when a collection is dropped. Milvus
//     bounds neither, so a flood of names grows its series without end.
//   - A db_name or collection_name that is not valid UTF-8 is repaired
//     first, each run of bytes that are not UTF-8 becoming one U+FFFD (as
//     [strings.ToValidUTF8] does), then cut to at most 255 bytes, at a
//     rune boundary. Pairs are kept by these label values: two names that
//     export the same values are one pair, with one place under the limit
//     and one set of series, and [Milvus26.RemoveCollection] of either
//     removes it. A kept pair holds its label values alone, not the names
//     the calls brought.
//   - A handler's panic counts as "rejected", the outcome of the error
//     that a recovery interceptor outside this one makes of it. Milvus's
//     own interceptor, which the panic passes through, counts it only as
//     "total".
//   - milvus_proxy_req_latency is observed for the successful calls of
//     every method. Milvus's handlers observe it themselves, for most
//     methods and mostly on success; failed and rejected calls, often
//     fast, would drag down the quantiles that Milvus's dashboards show.
//
// A request whose GetDbName or GetCollectionName panics (generated getters
// do not) is counted under the pair ("", ""), and the panic is logged
// through [WithLogger] as a client rule's panic is. The getters are this
// set's own rule: their panic changes no other set's count, and no other
// set's rule (the Milvus v2.0 counters' client rule or classifier)
// changes this set's. A status rule, which every set of the install
// shares, that panics counts the call as "fail" (as "rejected" if the
// handler returned an error).
//
// The status rule is the install's ([WithStatus], or the default rule,
// which reads any Milvus-style status message without importing Milvus).
// The default rule reads the status's code too, which tells "retry" from
// "fail". A [StatusFunc] says only whether the status fails: when it says
// so, Milvus26 reads the code with the default rule to tell "retry" from
// "fail" (a code it cannot read is "fail"); when it says the status does
// not fail, the call is a "success", whatever its code.
type Milvus26 struct {
	nodeID        string
	line          Milvus26Line             // WithLine
	reqCount      *prometheus.CounterVec   // milvus_proxy_req_count, or milvus_rootcoord_ddl_req_count with WithRootCoordDDL
	rootCoord     bool                     // WithRootCoordDDL: rootcoord's families, without pairs
	reqLatency    *prometheus.HistogramVec // milvus_proxy_req_latency; nil unless WithReqLatency
	grpcLatency   *prometheus.HistogramVec // milvus_proxy_grpc_latency; nil unless WithGRPCLatency
	overflowTotal prometheus.Counter       // grpcmetrics_collection_overflow_total
	kept          prometheus.GaugeFunc     // grpcmetrics_collections
	// discard counts the calls that resolve a series of a removed pair: it
	// is registered nowhere, so that removal leaves no series behind.
	discard prometheus.Counter

	pairs      *boundedValues[m26Pair, m26Entry]
	routes     sync.Map // full method → *m26Route, every method any install saw
	errorTypes sync.Map // reflect.Type → int, see errorTypeMethod

	metrics *setCollector // the set's own metrics, as one collector
	member  belonging     // the install it belongs to
	// logger is the install's, told when the set joins it; nil before.
	logger atomic.Pointer[zap.Logger]
}

// log returns the logger of the set's install, or a no-op logger while
// the set belongs to none.
func (m *Milvus26) log() *zap.Logger {
	if l := m.logger.Load(); l != nil {
		return l
	}
	return zap.NewNop()
}

// m26Pair is a call's (db_name, collection_name) label values, as
// [m26Label] makes them of the names the call brings.
type m26Pair struct{ db, coll string }

// m26Entry is a kept pair.
type m26Entry struct {
	key     m26Pair // the label values, cloned out of the request
	removed bool    // guarded by the pairs' mu
}

// m26Route is one method as Milvus26 counts it.
type m26Route struct {
	name     string                 // function_name
	latency  series                 // milvus_proxy_req_latency{node_id, function_name}; unset unless WithReqLatency
	grpc     [m26NumOutcomes]series // milvus_proxy_grpc_latency by outcome; unset unless WithGRPCLatency
	children sync.Map               // m26Pair (label values) → *m26Series, the kept pairs' series
	overflow *m26Series
	lastReq  atomic.Pointer[m26ReqType] // the method's last request type
}

// m26ReqType is what Milvus26 knows of a Go type of request.
type m26ReqType struct {
	t       reflect.Type
	fillsDB bool // Milvus's database interceptor fills its DbName
}

// m26Series are the series of one method and one pair, each outcome's
// resolved on its first use.
type m26Series struct {
	set    *Milvus26
	route  *m26Route
	entry  *m26Entry
	status [m26NumOutcomes]atomic.Pointer[m26Counter]
}

// m26Counter is a resolved series of milvus_proxy_req_count.
type m26Counter struct{ prometheus.Counter }

// Milvus26Option configures [NewMilvus26]: [WithNodeID],
// [WithCollectionLimit], [WithReqLatency], [WithRootCoordDDL], [WithLine]
// or [WithGRPCLatency]. No other constructor takes it.
type Milvus26Option interface {
	applyMilvus26(*milvus26Config)
}

// milvus26OptionFunc is a [Milvus26Option].
type milvus26OptionFunc func(*milvus26Config)

func (f milvus26OptionFunc) applyMilvus26(c *milvus26Config) { f(c) }

// milvus26Config is what the options of [NewMilvus26] set.
type milvus26Config struct {
	nodeID             int64
	nodeIDSet          bool
	collectionLimit    int
	collectionLimitSet bool
	reqLatency         bool
	rootCoord          bool
	line               Milvus26Line // WithLine
	grpcLatency        bool         // WithGRPCLatency
}

// WithNodeID sets the node_id label value of [Milvus26]'s series: the
// proxy's node ID, which Milvus writes in decimal. It is formatted once,
// by [NewMilvus26]. The default is 0, "0": give the node ID of the proxy
// whose series these replace, so that dashboards find them. Only
// [NewMilvus26] takes it.
func WithNodeID(id int64) Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.nodeID, c.nodeIDSet = id, true })
}

// WithCollectionLimit sets how many distinct (db_name, collection_name)
// pairs [Milvus26] keeps, from 1 to [MaxCollectionLimit]; the default is
// [DefaultCollectionLimit]. The calls of further pairs are counted under
// [OverflowCollectionLabel], and each increments
// grpcmetrics_collection_overflow_total. The pair ("", ""), of requests
// that name no collection, does not count towards the limit, and
// [Milvus26.RemoveCollection] frees a place. Only [NewMilvus26] takes it.
func WithCollectionLimit(n int) Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.collectionLimit, c.collectionLimitSet = n, true })
}

// WithReqLatency turns on milvus_proxy_req_latency{node_id, function_name}:
// [Milvus26] observes the time of each successful call, in whole
// milliseconds, in Milvus's buckets 1, 2, 4 … 131072. Without it the set
// neither reads the clock nor exports the histogram, as Milvus's own request
// interceptor does not (Milvus's handlers observe it themselves). Only
// [NewMilvus26] takes it.
func WithReqLatency() Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.reqLatency = true })
}

// WithRootCoordDDL makes [Milvus26] count a rootcoord's calls as Milvus
// v2.6.16's rootcoord counts its DDL requests, in
// milvus_rootcoord_ddl_req_count{function_name, status} (help "count of DDL
// operations") with status "total", then "success" or "fail" (an error, a
// panic or a failing status, retryable or not), and with [WithReqLatency]
// milvus_rootcoord_ddl_req_latency{function_name} (milliseconds, help
// "latency of each DDL operations"), instead of the proxy's families. The
// families have no node_id, db_name or collection_name, so nothing is
// bounded and [Milvus26.RemoveCollection] removes nothing.
//
// Milvus writes these counters by hand, in some rootcoord handlers only,
// and counts "total" after its health check; counting every method of
// every service the rootcoord serves, each call from its start, is this
// set's rule, not Milvus's. Only [NewMilvus26] takes it.
func WithRootCoordDDL() Milvus26Option {
	return milvus26OptionFunc(func(c *milvus26Config) { c.rootCoord = true })
}

// NewMilvus26 builds Milvus 2.6's request counters, as the Milvus release
// line of [WithLine] fills them, v2.6.16 by default (see [Milvus26]). It
// takes [WithNodeID], [WithCollectionLimit], [WithReqLatency],
// [WithRootCoordDDL], [WithLine] and [WithGRPCLatency]. It returns an error
// naming the problem: a nil option, a collection limit out of range, a
// value that is no release line, WithNodeID or WithCollectionLimit beside
// WithRootCoordDDL, whose families have neither, or WithGRPCLatency beside
// WithRootCoordDDL.
func NewMilvus26(opts ...Milvus26Option) (*Milvus26, error) {
	cfg := &milvus26Config{}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("interceptor: NewMilvus26: option %d is nil", i)
		}
		o.applyMilvus26(cfg)
	}
	if cfg.rootCoord && (cfg.nodeIDSet || cfg.collectionLimitSet) {
		return nil, errors.New("interceptor: NewMilvus26: WithNodeID and WithCollectionLimit do not apply with WithRootCoordDDL, whose families have no node_id, db_name or collection_name")
	}
	limit := DefaultCollectionLimit
	if cfg.collectionLimitSet {
		if cfg.collectionLimit < 1 || cfg.collectionLimit > MaxCollectionLimit {
			return nil, fmt.Errorf("interceptor: NewMilvus26: WithCollectionLimit: %d is out of range [1, %d]", cfg.collectionLimit, MaxCollectionLimit)
		}
		limit = cfg.collectionLimit
	}
	if cfg.line < 0 || cfg.line >= numMilvus26Lines {
		return nil, fmt.Errorf("interceptor: NewMilvus26: WithLine: %v is no release line (want MilvusV2616, MilvusV2620 or MilvusV2621)", cfg.line)
	}
	if cfg.grpcLatency && cfg.rootCoord {
		return nil, errors.New("interceptor: NewMilvus26: WithGRPCLatency: Milvus's rootcoord has no gRPC latency family; it is the proxy's (drop WithRootCoordDDL or WithGRPCLatency)")
	}
	m := &Milvus26{
		nodeID:    strconv.FormatInt(cfg.nodeID, 10),
		line:      cfg.line,
		rootCoord: cfg.rootCoord,
	}
	switch {
	case cfg.rootCoord:
		m.reqCount = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "milvus",
			Subsystem: "rootcoord",
			Name:      "ddl_req_count",
			Help:      "count of DDL operations",
		}, []string{"function_name", "status"})
	case cfg.line.causes():
		m.reqCount = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "milvus",
			Subsystem: "proxy",
			Name:      "req_count",
			Help:      "count of operation executed",
		}, []string{"node_id", "function_name", "status", "cause", "db_name", "collection_name"})
	default:
		m.reqCount = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "milvus",
			Subsystem: "proxy",
			Name:      "req_count",
			Help:      "count of operation executed",
		}, []string{"node_id", "function_name", "status", "db_name", "collection_name"})
	}
	if cfg.grpcLatency {
		labels := []string{"node_id", "function_name", "status"}
		if cfg.line.causes() {
			labels = append(labels, "cause")
		}
		m.grpcLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "milvus",
			Subsystem: "proxy",
			Name:      "grpc_latency",
			Help:      "latency of each grpc request",
			Buckets:   prometheus.ExponentialBuckets(1, 2, 18),
		}, labels)
	}
	switch {
	case cfg.reqLatency && cfg.rootCoord:
		m.reqLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "milvus",
			Subsystem: "rootcoord",
			Name:      "ddl_req_latency",
			Help:      "latency of each DDL operations",
			Buckets:   prometheus.ExponentialBuckets(1, 2, 18),
		}, []string{"function_name"})
	case cfg.reqLatency:
		m.reqLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "milvus",
			Subsystem: "proxy",
			Name:      "req_latency",
			Help:      "latency of each request",
			Buckets:   prometheus.ExponentialBuckets(1, 2, 18),
		}, []string{"node_id", "function_name"})
	}
	m.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "grpcmetrics",
		Name:      "collection_overflow_total",
		Help:      `Calls counted under db_name and collection_name "` + OverflowCollectionLabel + `" in milvus_proxy_req_count because the collection limit was reached.`,
	})
	m.discard = prometheus.NewCounter(prometheus.CounterOpts{Name: "grpcmetrics_discarded", Help: "Never registered."})
	overflow := &m26Entry{key: m26Pair{OverflowCollectionLabel, OverflowCollectionLabel}}
	m.pairs = newBoundedValues[m26Pair](limit, overflow, m.overflowTotal)
	m.pairs.keyOf = func(e *m26Entry) m26Pair { return e.key } // cloned, not the request's
	m.pairs.fix(m26Pair{}, &m26Entry{})
	m.pairs.fix(overflow.key, overflow)
	m.kept = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "grpcmetrics",
		Name:      "collections",
		Help:      "Distinct (db_name, collection_name) pairs of milvus_proxy_req_count currently kept, the empty pair excluded.",
	}, func() float64 { return float64(m.pairs.len()) })
	m.metrics = &setCollector{cs: []prometheus.Collector{m.reqCount, m.overflowTotal, m.kept}}
	if m.reqLatency != nil {
		m.metrics.cs = append(m.metrics.cs, m.reqLatency)
	}
	if m.grpcLatency != nil {
		m.metrics.cs = append(m.metrics.cs, m.grpcLatency)
	}
	return m, nil
}

// RemoveCollection forgets the pair (db, collection), frees its place
// under the collection limit, and deletes the series of
// milvus_proxy_req_count whose db_name and collection_name are the pair's
// label values, so that a dropped collection leaves no series behind. Give
// the database as calls name it: "default" for Milvus's default database.
// The names are repaired and cut as the calls' are (see [Milvus26]): the
// pair removed is the one whose series the calls of these names count in,
// however they spell it. It reports whether anything was removed. Every
// call that starts after RemoveCollection returns is counted, in new
// series; a call of that collection still in flight may count into a
// deleted series. The pair ("", "") and the overflow pair are never
// removed: for them RemoveCollection reports false.
func (m *Milvus26) RemoveCollection(db, collection string) bool {
	if m.rootCoord {
		return false // rootcoord's families carry no collection
	}
	p := m26Pair{m26Label(db), m26Label(collection)}
	m.pairs.mu.Lock()
	defer m.pairs.mu.Unlock()
	if m.pairs.fixed[p] {
		return false
	}
	e, removed := m.pairs.removeLocked(p)
	if removed {
		e.removed = true
		m.routes.Range(func(_, v any) bool {
			v.(*m26Route).children.Delete(p)
			return true
		})
	}
	if m.reqCount.DeletePartialMatch(prometheus.Labels{"db_name": p.db, "collection_name": p.coll}) > 0 {
		removed = true
	}
	return removed
}

// route returns the set's route of a full method, made on its first use.
func (m *Milvus26) route(fullMethod string) *m26Route {
	if v, ok := m.routes.Load(fullMethod); ok {
		return v.(*m26Route)
	}
	name := fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
	name = strings.ToValidUTF8(name, string(utf8.RuneError))
	r := &m26Route{name: name}
	switch {
	case m.reqLatency != nil && m.rootCoord:
		r.latency = series{vec: m.reqLatency.MetricVec, labels: []string{name}}
	case m.reqLatency != nil:
		r.latency = series{vec: m.reqLatency.MetricVec, labels: []string{m.nodeID, name}}
	}
	if m.grpcLatency != nil {
		for o := range m26NumOutcomes {
			if o != m26Total {
				r.grpc[o] = series{vec: m.grpcLatency.MetricVec, labels: append([]string{m.nodeID, name}, m26Labels(o, m.line)...)}
			}
		}
	}
	r.overflow = &m26Series{set: m, route: r, entry: m.pairs.overflow}
	v, _ := m.routes.LoadOrStore(fullMethod, r)
	return v.(*m26Route)
}

// seriesOf returns the series of a call of route r with request req: of
// the label values of the pair req brings, or of the pair ("", "") if the
// call is unidentified (a request's getter panicked for it already). It
// may panic in a request's getter; the engine recovers, logs, and asks
// again, unidentified.
func (m *Milvus26) seriesOf(ctx context.Context, req any, r *m26Route, unidentified bool) *m26Series {
	var p m26Pair
	if !unidentified && !m.rootCoord { // rootcoord's families have no pair
		p = r.pairOf(ctx, req)
		// The pair as it came first: keys are label values, so a pair
		// found as it is is its own label values (valid UTF-8, short
		// enough), and the names need no repair on the common path.
		if v, ok := r.children.Load(p); ok {
			return v.(*m26Series)
		}
		p = m26Pair{m26Label(p.db), m26Label(p.coll)}
	}
	if v, ok := r.children.Load(p); ok {
		return v.(*m26Series)
	}
	return m.admit(r, p)
}

// admit admits the label values p if they are new and the limit allows,
// and returns their series of route r: the overflow series if p finds no
// place.
func (m *Milvus26) admit(r *m26Route, p m26Pair) *m26Series {
	m.pairs.mu.Lock()
	defer m.pairs.mu.Unlock()
	if v, ok := r.children.Load(p); ok {
		return v.(*m26Series)
	}
	e := m.pairs.admitLocked(p, func() *m26Entry {
		// Clone: the pair outlives the call, and its label values may
		// share memory with the request or the metadata (a name's first
		// 255 bytes, say, which would keep the whole name alive).
		return &m26Entry{key: m26Pair{strings.Clone(p.db), strings.Clone(p.coll)}}
	})
	if e == m.pairs.overflow {
		if p == e.key { // the overflow pair itself, fixed: kept like any other
			r.children.Store(e.key, r.overflow)
		}
		return r.overflow
	}
	s := &m26Series{set: m, route: r, entry: e}
	r.children.Store(e.key, s)
	return s
}

// pairOf returns the (db_name, collection_name) of a call with request
// req, as Milvus 2.6 labels it once its database interceptor has run.
func (r *m26Route) pairOf(ctx context.Context, req any) (p m26Pair) {
	if q, ok := req.(interface{ GetCollectionName() string }); ok {
		p.coll = q.GetCollectionName()
	}
	if q, ok := req.(interface{ GetDbName() string }); ok {
		if p.db = q.GetDbName(); p.db == "" && r.fillsDB(req) {
			p.db = m26DBName(ctx)
		}
	}
	return p
}

// fillsDB reports whether Milvus's database interceptor fills the DbName of
// req's type, worked out once per type (per method, whose requests have
// one type).
func (r *m26Route) fillsDB(req any) bool {
	t := reflect.TypeOf(req)
	k := r.lastReq.Load()
	if k == nil || k.t != t {
		k = &m26ReqType{t: t, fillsDB: m26FillsDB(msgshape.MessageName(t))}
		r.lastReq.Store(k)
	}
	return k.fillsDB
}

// m26DBName returns the database that Milvus 2.6 gives a request naming
// none: the first value of the call's "dbname" metadata (case-insensitive
// key), or DefaultDBName if it is missing or empty. grpc-go's accessor
// copies the values it finds: one allocation, only when the key is there.
func m26DBName(ctx context.Context) string {
	if v := metadata.ValueFromIncomingContext(ctx, "dbname"); len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return DefaultDBName
}

// m26FillsDB reports whether Milvus 2.6's database interceptor fills the
// DbName of the requests of the message named name (see [Milvus26]).
func m26FillsDB(name protoreflect.FullName) bool {
	if name.Parent() != "milvus.proto.milvus" {
		return false
	}
	switch name.Name() {
	case // v2.6.16 to v2.6.20, the 2.6 branch, 3.0
		"CreateCollectionRequest", "DropCollectionRequest", "TruncateCollectionRequest",
		"HasCollectionRequest", "LoadCollectionRequest", "ReleaseCollectionRequest",
		"DescribeCollectionRequest", "BatchDescribeCollectionRequest", "GetStatisticsRequest",
		"GetCollectionStatisticsRequest", "ShowCollectionsRequest", "AlterCollectionRequest",
		"AlterCollectionFieldRequest", "AddCollectionFunctionRequest", "AlterCollectionFunctionRequest",
		"DropCollectionFunctionRequest", "CreatePartitionRequest", "DropPartitionRequest",
		"HasPartitionRequest", "LoadPartitionsRequest", "ReleasePartitionsRequest",
		"GetPartitionStatisticsRequest", "ShowPartitionsRequest", "GetLoadingProgressRequest",
		"GetLoadStateRequest", "CreateIndexRequest", "DescribeIndexRequest", "DropIndexRequest",
		"AlterIndexRequest", "GetIndexBuildProgressRequest", "GetIndexStateRequest",
		"InsertRequest", "DeleteRequest", "SearchRequest", "HybridSearchRequest", "FlushRequest",
		"QueryRequest", "CreateAliasRequest", "DropAliasRequest", "AlterAliasRequest",
		"DescribeAliasRequest", "ListAliasesRequest", "ImportRequest", "ListImportTasksRequest",
		"RenameCollectionRequest", "TransferReplicaRequest", "GetPersistentSegmentInfoRequest",
		"GetQuerySegmentInfoRequest", "LoadBalanceRequest", "GetReplicasRequest",
		"GetIndexStatisticsRequest", "UpsertRequest", "GetFlushStateRequest",
		"ManualCompactionRequest", "AddCollectionFieldRequest", "RunAnalyzerRequest",
		"OperatePrivilegeV2Request",
		// 3.0's, which milvus-proto v2.6 does not define
		"AddCollectionStructFieldRequest", "AlterCollectionSchemaRequest", "CreateSnapshotRequest",
		"DropSnapshotRequest", "DescribeSnapshotRequest", "ListSnapshotsRequest",
		"RestoreSnapshotRequest", "RestoreExternalSnapshotRequest", "ListRestoreSnapshotJobsRequest",
		"PinSnapshotDataRequest", "ExportSnapshotRequest", "RefreshExternalCollectionRequest",
		"ListRefreshExternalCollectionJobsRequest":
		return true
	}
	return false
}

// m26Label returns the db_name or collection_name label value of a name
// s: s itself if it is valid UTF-8 of at most maxNameLabel bytes (without
// allocating); else s repaired, each run of invalid bytes becoming one
// U+FFFD, then cut to at most maxNameLabel bytes at a rune boundary. The
// result may share memory with s.
func m26Label(s string) string {
	if len(s) <= maxNameLabel && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	if len(s) > maxNameLabel {
		cut := maxNameLabel
		for !utf8.RuneStart(s[cut]) { // s is valid: a rune starts within 3 bytes
			cut--
		}
		s = s[:cut]
	}
	return s
}

// began counts a call as total.
func (s *m26Series) began() { s.counter(m26Total).Inc() }

// ended counts how a call ended, observes a success's time in
// milvus_proxy_req_latency and every call's in milvus_proxy_grpc_latency.
func (s *m26Series) ended(how *ending, elapsed time.Duration) {
	o := s.set.outcome(how)
	if s.set.rootCoord && o != m26Success {
		o = m26Fail // rootcoord counts total, success and fail only
	}
	s.counter(o).Inc()
	if o == m26Success && s.set.reqLatency != nil {
		s.route.latency.observer().Observe(float64(elapsed.Milliseconds()))
	}
	if s.set.grpcLatency != nil {
		s.route.grpc[o].observer().Observe(float64(elapsed.Milliseconds()))
	}
}

// counter returns the series of status st, resolving it on first use.
func (s *m26Series) counter(st int) prometheus.Counter {
	if c := s.status[st].Load(); c != nil {
		return c.Counter
	}
	return s.set.resolve(s, st)
}

// resolve resolves the series of status st of s under the pairs' mutex,
// which orders it with removal: the series of a removed pair is not made
// again, and its late calls count nowhere.
func (m *Milvus26) resolve(s *m26Series, st int) prometheus.Counter {
	m.pairs.mu.Lock()
	defer m.pairs.mu.Unlock()
	if c := s.status[st].Load(); c != nil {
		return c.Counter
	}
	if s.entry.removed {
		return m.discard
	}
	// The label values are valid UTF-8 (function_name and the pair's are
	// repaired), as many as the family's labels: WithLabelValues cannot
	// panic.
	var c *m26Counter
	if m.rootCoord {
		c = &m26Counter{m.reqCount.WithLabelValues(s.route.name, m26StatusName(st))}
	} else {
		values := append(append([]string{m.nodeID, s.route.name}, m26Labels(st, m.line)...), s.entry.key.db, s.entry.key.coll)
		c = &m26Counter{m.reqCount.WithLabelValues(values...)}
	}
	s.status[st].Store(c)
	return c.Counter
}
