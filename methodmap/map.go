package methodmap

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Map is an immutable table from full gRPC method names to [Entry] values.
// Build it with [New]; it is safe for concurrent use.
type Map struct {
	byMethod map[string]*Entry
	entries  []*Entry // sorted by Method; Entry.Index is the position here
}

// New validates routes and builds a [Map] from them. It returns an error, and
// no map, if any route
//   - has a malformed method name (see [ParseMethod]),
//   - repeats the method of an earlier route,
//   - has a nil counter or an unknown scheme, or
//   - has a counter whose label names are not exactly those of its scheme, or
//   - comes from [MilvusRoutes] and uses a registry component that was never
//     registered ([registry.RootCoord.Registered] and the others are false),
//     so that the map would count where nothing scrapes; the error names the
//     components. Register them first, with [registry.Metrics.Register] or
//     each component's Register; collectors registered by hand, as with
//     reg.MustRegister(m.Collectors()...), are not seen.
//
// For [StatusScheme] and [TypeScheme] routes, New resolves the counter's
// total, success and fail children, so those series exist (at zero) from then
// on, as Prometheus recommends for series that are known in advance.
func New(routes ...Route) (*Map, error) {
	m := &Map{}
	seen := make(map[string]bool, len(routes))
	for i, r := range routes {
		if _, _, err := ParseMethod(r.Method); err != nil {
			return nil, fmt.Errorf("methodmap: route %d: %w", i, err)
		}
		if seen[r.Method] {
			return nil, fmt.Errorf("methodmap: route %d: duplicate route for %s", i, r.Method)
		}
		seen[r.Method] = true
		e, err := resolve(r)
		if err != nil {
			return nil, fmt.Errorf("methodmap: route %d (%s): %w", i, r.Method, err)
		}
		m.entries = append(m.entries, e)
	}
	if err := checkRegistered(routes); err != nil {
		return nil, err
	}
	slices.SortFunc(m.entries, func(a, b *Entry) int { return strings.Compare(a.Method, b.Method) })
	m.byMethod = make(map[string]*Entry, len(m.entries))
	for i, e := range m.entries {
		e.Index = i
		m.byMethod[e.Method] = e
	}
	return m, nil
}

func resolve(r Route) (*Entry, error) {
	if r.Counter == nil {
		return nil, fmt.Errorf("nil counter")
	}
	e := &Entry{Method: r.Method, Scheme: r.Scheme, Counter: r.Counter}
	switch r.Scheme {
	case StatusScheme, TypeScheme:
		label := r.Scheme.Labels()[0]
		children := [3]prometheus.Counter{}
		for i, v := range [3]string{registry.TotalLabel, registry.SuccessLabel, registry.FailLabel} {
			c, err := r.Counter.GetMetricWith(prometheus.Labels{label: v})
			if err != nil {
				return nil, fmt.Errorf("counter does not fit scheme %s: %w", r.Scheme, err)
			}
			children[i] = c
		}
		e.Total, e.Success, e.Fail = children[0], children[1], children[2]
	case ClientTypeScheme:
		// Children depend on the client, so probe the label names with a
		// value no client can have and delete the probe series again.
		probe := prometheus.Labels{registry.LabelClientID: probeClient, registry.LabelType: registry.TotalLabel}
		if _, err := r.Counter.GetMetricWith(probe); err != nil {
			return nil, fmt.Errorf("counter does not fit scheme %s: %w", r.Scheme, err)
		}
		r.Counter.Delete(probe)
	default:
		return nil, fmt.Errorf("unknown scheme %v", r.Scheme)
	}
	return e, nil
}

// checkRegistered returns an error naming the registry components of
// routes whose counters were never registered.
func checkRegistered(routes []Route) error {
	var missing []string
	for _, r := range routes {
		if r.from != nil && !r.from.registered() && !slices.Contains(missing, r.from.name) {
			missing = append(missing, r.from.name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("methodmap: the counters of registry component(s) %s were never registered, so the map would count where nothing scrapes: "+
		"call Metrics.Register(reg) (or each component's Register) before methodmap.Default or New; "+
		"collectors registered by hand, as with reg.MustRegister(m.Collectors()...), are not seen, "+
		"and Register leaves the collectors reg already holds as they are", strings.Join(missing, ", "))
}

// probeClient is a client_id no call produces: client IDs are "client_…".
const probeClient = "\x00methodmap-probe"

// Lookup returns the entry for a full method name, or false if the method is
// not mapped. It reads a Go map that [New] built and nothing writes again,
// so it takes no lock and allocates nothing.
func (m *Map) Lookup(fullMethod string) (*Entry, bool) {
	e, ok := m.byMethod[fullMethod]
	return e, ok
}

// Len returns the number of routes.
func (m *Map) Len() int { return len(m.entries) }

// Entries returns the map's entries sorted by method name; entry i has Index
// i. The slice is a copy; the entries are shared and must not be modified.
func (m *Map) Entries() []*Entry { return slices.Clone(m.entries) }

// Coverage is the result of [Map.Check].
type Coverage struct {
	// Unmapped lists the server's unary methods that the map does not count.
	Unmapped []string
	// Unknown lists mapped methods of services that the server registers but
	// that those services do not have, which usually means a typo or a
	// renamed RPC.
	Unknown []string
	// Unregistered lists the services of the map that the server does not
	// register at all. A typo in a service name (in [Services], say) shows
	// up here, with the real service's methods in Unmapped. A map that
	// serves several servers lists the others' services here too.
	Unregistered []string
}

// OK reports whether the map and the server agree completely: nothing
// unmapped, unknown or unregistered.
func (c Coverage) OK() bool {
	return len(c.Unmapped) == 0 && len(c.Unknown) == 0 && len(c.Unregistered) == 0
}

// String lists the disagreements, one kind per line, or "complete".
func (c Coverage) String() string {
	if c.OK() {
		return "complete"
	}
	var b strings.Builder
	for _, part := range []struct {
		what  string
		names []string
	}{
		{"unmapped methods", c.Unmapped},
		{"unknown methods", c.Unknown},
		{"unregistered services", c.Unregistered},
	} {
		if len(part.names) > 0 {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s: %s", part.what, strings.Join(part.names, ", "))
		}
	}
	return b.String()
}

// ServiceInfoProvider is what [Map.Check] needs of a server; [*grpc.Server]
// has it. It matches reflection.ServiceInfoProvider.
type ServiceInfoProvider interface {
	GetServiceInfo() map[string]grpc.ServiceInfo
}

// Check compares the map with the services registered on srv, usually a
// [*grpc.Server]; call it once the services are registered. Streaming
// methods are not counted by the unary interceptor and are not reported as
// unmapped.
//
// A nil srv, or one holding a nil pointer (a nil *grpc.Server, say), is a
// server that registers nothing: every service of the map is reported
// Unregistered, so the result is not OK (unless the map is empty).
func (m *Map) Check(srv ServiceInfoProvider) Coverage {
	var cov Coverage
	var info map[string]grpc.ServiceInfo
	if !isNil(srv) {
		info = srv.GetServiceInfo()
	}
	served := make(map[string]bool)
	for svc, si := range info {
		for _, mi := range si.Methods {
			full := "/" + svc + "/" + mi.Name
			served[full] = true
			if _, ok := m.byMethod[full]; !ok && !mi.IsClientStream && !mi.IsServerStream {
				cov.Unmapped = append(cov.Unmapped, full)
			}
		}
	}
	for _, e := range m.entries {
		svc, _, _ := ParseMethod(e.Method) // validated by New
		switch _, registered := info[svc]; {
		case !registered:
			if !slices.Contains(cov.Unregistered, svc) {
				cov.Unregistered = append(cov.Unregistered, svc)
			}
		case !served[e.Method]:
			cov.Unknown = append(cov.Unknown, e.Method)
		}
	}
	slices.Sort(cov.Unmapped)
	slices.Sort(cov.Unregistered)
	return cov
}

// isNil reports whether v is nil or holds a nil pointer or func, whose
// methods would panic.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func:
		return rv.IsNil()
	}
	return false
}
