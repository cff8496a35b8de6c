package interceptor

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/internal/strtab"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Interceptor counts the calls of the methods in a [methodmap.Map]. Build it
// with [New] and install [Interceptor.UnaryServerInterceptor] on a server. It
// is also a [prometheus.Collector] of its own metrics (client limit overflow
// and tracked clients), which the caller registers.
type Interceptor struct {
	methods *methodmap.Map
	table   *strtab.Table[*route] // full method name to route
	logger  *zap.Logger

	status   StatusFunc   // nil: the default rule alone
	base     SourceIDFunc // nil: the default rule alone
	clientID ClientIDFunc // nil: clients are keyed by SourceID
	seed     maphash.Seed // hashes clientID's labels

	clients    *clientTable
	clientVecs []*prometheus.CounterVec

	unknown  *client // calls without a client ID
	overflow *client // calls beyond the client limit

	overflowTotal prometheus.Counter
	tracked       prometheus.GaugeFunc
}

type route struct {
	entry    *methodmap.Entry
	static   *counters  // non-nil unless the scheme has a client_id
	clientIx int        // index among client-scheme routes
	classify Classifier // nil for the default rule
	rstatus  reflectStatus
	rbase    reflectBase
}

// New builds an interceptor over m. Without options it:
//   - judges a call fail if the handler returns an error, panics, or returns
//     a response that is a Milvus status or has a "status" field holding one
//     (a protobuf message named Status with a non-zero enum "error_code" or a
//     non-zero integer "code"), and success otherwise;
//   - labels RootCoord-style calls with client_id "client_<SourceID>", from
//     the request's "base" message field and its "sourceID" field, or with
//     [registry.UnknownClientLabel] when there is no base;
//   - tracks at most [DefaultClientLimit] client IDs.
//
// The rules apply to the messages of today's protoc-gen-go and of the old
// APIv1 generators (structs with protobuf tags and no ProtoReflect method,
// as Milvus's generated code was). For generated structs they read the
// fields at their struct offsets, worked out once per message type; other
// messages (dynamicpb, for one) go through protoreflect, which costs more.
// [WithStatusFunc] and [WithSourceIDFunc] give the same judgement through
// the caller's generated types, a little faster still.
//
// New returns an error naming the problem for a nil map, an outcome rule for
// a method the map does not have, a nil classifier or client ID function, a
// client limit out of range, or an option given twice that would overwrite
// the first.
func New(m *methodmap.Map, opts ...Option) (*Interceptor, error) {
	if m == nil {
		return nil, errors.New("interceptor: nil method map")
	}
	cfg := config{logger: zap.NewNop(), clientLimit: DefaultClientLimit}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("interceptor: nil Option")
		}
		o.apply(&cfg)
	}
	if err := cfg.validate(m); err != nil {
		return nil, err
	}
	i := &Interceptor{
		methods:  m,
		logger:   cfg.logger,
		status:   cfg.status,
		base:     cfg.base,
		clientID: cfg.clientID,
		seed:     maphash.MakeSeed(),
	}
	entries := m.Entries()
	routes := make([]*route, len(entries))
	methods := make([]string, len(entries))
	for ix, e := range entries {
		r := &route{entry: e, classify: cfg.outcomes[e.Method]}
		if e.Scheme == methodmap.ClientTypeScheme {
			r.clientIx = len(i.clientVecs)
			i.clientVecs = append(i.clientVecs, e.Counter)
		} else {
			r.static = &counters{total: e.Total, success: e.Success, fail: e.Fail}
		}
		routes[ix] = r
		methods[ix] = e.Method
	}
	i.table = strtab.New(methods, routes)
	n := len(i.clientVecs)
	i.clients = newClientTable(cfg.clientLimit, n)
	i.unknown = newClient(registry.UnknownClientLabel, n)
	i.overflow = newClient(registry.OverflowClientLabel, n)
	i.overflowTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "grpcmetrics",
		Name:      "client_id_overflow_total",
		Help:      `Calls counted under client_id="` + registry.OverflowClientLabel + `" because the client limit was reached.`,
	})
	i.tracked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "grpcmetrics",
		Name:      "client_ids",
		Help:      "Distinct client_id values currently tracked by the interceptor, fallback values excluded.",
	}, func() float64 { return float64(i.clients.live.Load()) })
	return i, nil
}

func (c *config) validate(m *methodmap.Map) error {
	var errs []error
	if c.logger == nil {
		errs = append(errs, errors.New("WithLogger: nil logger (use zap.NewNop to disable logging)"))
	}
	for _, method := range c.dupOutcome {
		errs = append(errs, fmt.Errorf("WithOutcome: %s given twice", method))
	}
	for method, fn := range c.outcomes {
		if fn == nil {
			errs = append(errs, fmt.Errorf("WithOutcome: nil classifier for %s", method))
		}
		if _, ok := m.Lookup(method); !ok {
			errs = append(errs, fmt.Errorf("WithOutcome: %s is not in the method map", method))
		}
	}
	if c.clientIDSets > 1 {
		errs = append(errs, errors.New("WithClientID given more than once"))
	}
	if c.clientIDSets == 1 && c.clientID == nil {
		errs = append(errs, errors.New("WithClientID: nil function"))
	}
	if c.limitSets > 1 {
		errs = append(errs, errors.New("WithClientLimit given more than once"))
	}
	if c.clientLimit < 1 || c.clientLimit > MaxClientLimit {
		errs = append(errs, fmt.Errorf("WithClientLimit: %d is out of range [1, %d]", c.clientLimit, MaxClientLimit))
	}
	if c.statusSets > 1 {
		errs = append(errs, errors.New("WithStatusType or WithStatusFunc given more than once"))
	}
	if c.nilStatusFunc {
		errs = append(errs, errors.New("WithStatusFunc: nil function"))
	}
	if c.baseSets > 1 {
		errs = append(errs, errors.New("WithBaseType or WithSourceIDFunc given more than once"))
	}
	if c.nilBaseFunc {
		errs = append(errs, errors.New("WithSourceIDFunc: nil function"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("interceptor: %w", err)
	}
	return nil
}

// clientByLabel returns the client that the WithClientID function names.
func (i *Interceptor) clientByLabel(ctx context.Context, req any) *client {
	label := i.clientID(ctx, req)
	if label == "" {
		return i.unknown
	}
	if !utf8.ValidString(label) || len(label) > MaxClientIDLength {
		label = sanitizeLabel(label)
	}
	key := maphash.String(i.seed, label)
	if c := i.clients.get(key, label); c != nil {
		return c
	}
	// Clone: the table outlives the call, and label may share memory with
	// the request.
	owned := strings.Clone(label)
	return i.admitted(i.clients.admit(key, owned, func() string { return owned }))
}

// admitted maps a full table's nil to the overflow client.
func (i *Interceptor) admitted(c *client) *client {
	if c == nil {
		i.overflowTotal.Inc()
		return i.overflow
	}
	return c
}

// sanitizeLabel repairs invalid UTF-8 and cuts label to MaxClientIDLength
// bytes at a rune boundary.
func sanitizeLabel(label string) string {
	label = strings.ToValidUTF8(label, "\uFFFD")
	if len(label) > MaxClientIDLength {
		cut := MaxClientIDLength
		for cut > 0 && !utf8.RuneStart(label[cut]) {
			cut--
		}
		label = label[:cut]
	}
	return label
}

func (i *Interceptor) sourceID(req any, r *route) (int64, bool) {
	if i.base != nil {
		if id, ok := i.base(req); ok {
			return id, true
		}
	}
	return r.rbase.sourceID(req)
}

// UnaryServerInterceptor returns the interceptor to install with
// [grpc.ChainUnaryInterceptor]. Place it inside any recovery interceptor, so
// that it sees (and counts) a handler's panic before recovery turns it into
// an error.
func (i *Interceptor) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return i.intercept
}

func (i *Interceptor) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	r, ok := i.table.Get(info.FullMethod)
	if !ok {
		return handler(ctx, req)
	}
	cs := r.static
	if cs == nil {
		cs = i.clientCounters(ctx, req, r)
	}
	cs.total.Inc()
	finished := false
	defer func() {
		if !finished { // the handler panicked: count it and let the panic go on
			cs.fail.Inc()
		}
	}()
	resp, err := handler(ctx, req)
	finished = true
	if i.judge(r, resp, err) {
		cs.fail.Inc()
	} else {
		cs.success.Inc()
	}
	return resp, err
}

// judge reports whether a finished call failed. The common cases are written
// out here, as calls cost as much as the work; failed has the whole rule.
func (i *Interceptor) judge(r *route, resp any, err error) (fail bool) {
	switch {
	case r.classify != nil:
		return i.failed(r, resp, err)
	case err != nil:
		return true
	case i.status != nil:
		var found bool
		if fail, found = i.status(resp); found {
			return fail
		}
	}
	fail, _ = r.rstatus.detect(resp)
	return fail
}

// clientCounters returns the counters of a call's client on route r. The
// path of nearly every call (a client already in the table that has called
// r before) is written out here, as calls cost as much as the work.
func (i *Interceptor) clientCounters(ctx context.Context, req any, r *route) *counters {
	if i.clientID != nil {
		return i.clientByLabel(ctx, req).counters(r.clientIx, r.entry.Counter)
	}
	id, ok := i.sourceID(req, r)
	if !ok {
		return i.unknown.counters(r.clientIx, r.entry.Counter)
	}
	key := uint64(id)
	s := *i.clients.slots.Load()
	mask := uint64(len(s) - 1)
	for ix := i.clients.index(key); ; ix = (ix + 1) & mask {
		p := s[ix].Load()
		if p == nil {
			break
		}
		if p.key == key {
			if !p.dead.Load() {
				if cs := p.c.routes[r.clientIx].Load(); cs != nil {
					return cs
				}
			}
			break
		}
	}
	c := i.clients.get(key, "")
	if c == nil {
		c = i.admitted(i.clients.admit(key, "", func() string { return registry.ClientLabel(id) }))
	}
	return c.counters(r.clientIx, r.entry.Counter)
}

// failed judges a finished call.
func (i *Interceptor) failed(r *route, resp any, err error) bool {
	if r.classify != nil {
		switch i.classify(r, resp, err) {
		case Success:
			return false
		case Fail:
			return true
		}
	}
	if err != nil {
		return true
	}
	if i.status != nil {
		if f, found := i.status(resp); found {
			return f
		}
	}
	f, _ := r.rstatus.detect(resp)
	return f
}

// classify runs the route's classifier. A panic in it is recovered here,
// logged and judged [Fail]; it never reaches the caller.
func (i *Interceptor) classify(r *route, resp any, err error) (o Outcome) {
	defer func() {
		if p := recover(); p != nil {
			i.logger.Error("grpcmetrics: outcome classifier panicked; counting the call as fail",
				zap.String("method", r.entry.Method), zap.Any("panic", p))
			o = Fail
		}
	}()
	return r.classify(resp, err)
}

// RemoveClient forgets a client_id value (such as "client_42") and deletes
// its series from every client-labelled counter, so a client that left for
// good leaves no series behind. It reports whether anything was removed.
// Call it together with the registry's RootCoord.RemoveProxy when a proxy's
// session ends. A call of that client still in flight may count into a
// deleted series; the client's next call starts new ones.
func (i *Interceptor) RemoveClient(clientID string) bool {
	removed := i.clients.remove(clientID)
	for _, fixed := range []*client{i.unknown, i.overflow} {
		if fixed.label == clientID {
			for ix := range fixed.routes {
				fixed.routes[ix].Store(nil) // resolve fresh children on next use
			}
		}
	}
	for _, vec := range i.clientVecs {
		if vec.DeletePartialMatch(prometheus.Labels{registry.LabelClientID: clientID}) > 0 {
			removed = true
		}
	}
	return removed
}

// Describe implements [prometheus.Collector].
func (i *Interceptor) Describe(ch chan<- *prometheus.Desc) {
	i.overflowTotal.Describe(ch)
	i.tracked.Describe(ch)
}

// Collect implements [prometheus.Collector].
func (i *Interceptor) Collect(ch chan<- prometheus.Metric) {
	i.overflowTotal.Collect(ch)
	i.tracked.Collect(ch)
}
