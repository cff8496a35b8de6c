package methodmap_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// suRegistered returns registry.New()'s metrics, registered on a registry
// of their own.
func suRegistered(t testing.TB) *registry.Metrics {
	t.Helper()
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	return m
}

// TestSetupMapOverUnregisteredComponents builds the Milvus table over
// components whose counters were never registered, which would count into
// counters that nobody scrapes: an error naming the components and what to
// do. Registration through any Register path, or routes of the user's own
// counters, build.
func TestSetupMapOverUnregisteredComponents(t *testing.T) {
	rootCoordOnly := func(rs []methodmap.Route) []methodmap.Route {
		return slices.DeleteFunc(rs, func(r methodmap.Route) bool {
			return !strings.HasPrefix(r.Method, "/"+methodmap.DefaultRootCoord+"/")
		})
	}
	tests := []struct {
		name     string
		register func(*testing.T, *registry.Metrics, *prometheus.Registry)
		filter   func([]methodmap.Route) []methodmap.Route
		want     []string // error substrings; none: the map builds
		notWant  []string
	}{
		{"nothing registered", func(*testing.T, *registry.Metrics, *prometheus.Registry) {}, nil,
			[]string{"RootCoord", "Proxy", "DataNode", "never registered", "Metrics.Register"}, nil},
		{"Metrics.Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.Register(reg))
		}, nil, nil, nil},
		{"every component's Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.RootCoord.Register(reg))
			require.NoError(t, m.Proxy.Register(reg))
			require.NoError(t, m.DataNode.Register(reg))
		}, nil, nil, nil},
		{"RootCoord only, whole table", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.RootCoord.Register(reg))
		}, nil, []string{"Proxy", "DataNode"}, []string{"RootCoord"}},
		{"RootCoord only, RootCoord routes", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			require.NoError(t, m.RootCoord.Register(reg))
		}, rootCoordOnly, nil, nil},
		{"collectors registered by hand", func(_ *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			reg.MustRegister(m.Collectors()...)
		}, nil, []string{"never registered", "Metrics.Register"}, nil},
		{"collectors registered by hand, then Register", func(t *testing.T, m *registry.Metrics, reg *prometheus.Registry) {
			reg.MustRegister(m.Collectors()...)
			require.NoError(t, m.Register(reg), "a no-op for collectors reg already holds")
		}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, reg := registry.New(), prometheus.NewRegistry()
			tt.register(t, m, reg)
			routes, err := methodmap.MilvusRoutes(m, methodmap.Services{})
			require.NoError(t, err, "MilvusRoutes only lists the routes; New checks the ones it is given")
			if tt.filter != nil {
				routes = tt.filter(routes)
			}
			mm, err := methodmap.New(routes...)
			if len(tt.want) == 0 {
				require.NoError(t, err)
				require.Equal(t, len(routes), mm.Len())
				_, err = methodmap.Default(m)
				if tt.filter == nil {
					require.NoError(t, err, "Default")
				}
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			for _, nw := range tt.notWant {
				assert.NotContains(t, err.Error(), nw)
			}
			_, derr := methodmap.Default(m)
			assert.Equal(t, err.Error(), derr.Error(), "Default fails the same way")
		})
	}
}

// TestSetupMapOverCompatShim registers through the compatibility shim's
// functions, which count as registration too.
func TestSetupMapOverCompatShim(t *testing.T) {
	d := registry.Default()
	t.Cleanup(func() {
		for _, c := range d.Collectors() {
			prometheus.DefaultRegisterer.Unregister(c)
		}
	})
	registry.RegisterRootCoord()
	registry.RegisterProxy()
	registry.RegisterDataNode()
	_, err := methodmap.Default(d)
	require.NoError(t, err)
}

// TestSetupUserRoutesNeedNoRegistration builds a map of the user's own
// counters, never registered: that is the user's business.
func TestSetupUserRoutesNeedNoRegistration(t *testing.T) {
	_, err := methodmap.New(methodmap.Route{Method: "/a.S/M", Counter: counter("su_m_total", registry.LabelStatus), Scheme: methodmap.StatusScheme})
	require.NoError(t, err)
}

// TestSetupCheckNilServer checks a map against a nil server, typed or not:
// no panic, and a server that registers nothing.
func TestSetupCheckNilServer(t *testing.T) {
	m, err := methodmap.New(methodmap.Route{Method: "/a.S/M", Counter: counter("su_check_total", registry.LabelStatus), Scheme: methodmap.StatusScheme})
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		srv  methodmap.ServiceInfoProvider
	}{
		{"typed nil", (*grpc.Server)(nil)},
		{"untyped nil", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cov methodmap.Coverage
			require.NotPanics(t, func() { cov = m.Check(tt.srv) })
			assert.Equal(t, []string{"a.S"}, cov.Unregistered)
			assert.Empty(t, cov.Unmapped)
			assert.Empty(t, cov.Unknown)
			assert.False(t, cov.OK())
		})
	}
}

// TestSetupParseMethodErrorIsBounded gives ParseMethod names whose bytes
// each quote to four: the message quotes the name once and stays bounded.
func TestSetupParseMethodErrorIsBounded(t *testing.T) {
	const bound = 1000
	for _, tt := range []struct {
		name, in, escaped string
	}{
		{"fuzz finding", "/" + strings.Repeat("\x06", 78) + ".0/", `\x06\x06`},
		{"long control service", "/" + strings.Repeat("\x06", 1<<20) + ".0/M", `\x06\x06`},
		{"long control method", "/a.S/" + strings.Repeat("\x06", 1<<20), `\x06\x06`},
		{"long invalid UTF-8", "/a." + strings.Repeat("\xff", 1<<20) + "/M", `\xff\xff`},
		{"long no slash", strings.Repeat("\x06", 1<<20), `\x06\x06`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := methodmap.ParseMethod(tt.in)
			require.Error(t, err)
			msg := err.Error()
			assert.LessOrEqual(t, len(msg), bound, "message of %d bytes: %s", len(msg), msg)
			assert.NotContains(t, msg, `\\`, "a quoted name quoted again")
			assert.Contains(t, msg, tt.escaped, "bytes are escaped once")
		})
	}
}
