package methodmap_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

// FuzzParseMethod checks that parsing never panics and that whatever it
// accepts round-trips.
func FuzzParseMethod(f *testing.F) {
	for _, s := range []string{
		"/milvus.proto.rootcoord.RootCoord/CreateCollection", "", "/", "//", "/a.b/", "/a/b",
		"/a.b/c/d", "/a..b/c", "/\xff.b/c", "/a.b/c\x00", "/.a/b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		svc, m, err := methodmap.ParseMethod(in)
		if err != nil {
			require.LessOrEqual(t, len(err.Error()), 1000, "unbounded error message")
			return
		}
		require.Equal(t, in, "/"+svc+"/"+m, "ParseMethod(%q) does not round-trip", in)
	})
}

// FuzzNew builds maps from arbitrary method names and schemes: New must never
// panic, and a map it returns must find every route it was given.
func FuzzNew(f *testing.F) {
	f.Add("/p.S/A", "/p.S/B", uint8(1), uint8(2))
	f.Add("/p.S/A", "/p.S/A", uint8(1), uint8(1))
	f.Add("bad", "/p.S/B", uint8(3), uint8(0))
	f.Fuzz(func(t *testing.T, m1, m2 string, s1, s2 uint8) {
		routes := []methodmap.Route{
			{Method: m1, Counter: counter("fuzz_a_total", methodmap.Scheme(s1).Labels()...), Scheme: methodmap.Scheme(s1)},
			{Method: m2, Counter: counter("fuzz_b_total", methodmap.Scheme(s2%4).Labels()...), Scheme: methodmap.Scheme(s2 % 4)},
		}
		m, err := methodmap.New(routes...)
		if err != nil {
			return
		}
		for _, r := range routes {
			e, ok := m.Lookup(r.Method)
			require.True(t, ok, "route %q lost", r.Method)
			require.Same(t, r.Counter, e.Counter, "route %q lost its counter", r.Method)
		}
	})
}
