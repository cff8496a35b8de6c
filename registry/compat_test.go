package registry_test

import (
	"strings"
	"testing"

	"github.com/grpcmetrics/grpcmetrics/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// The shim registers on prometheus.DefaultRegisterer, which is process-wide:
// these tests are not parallel and unregister what they registered.

// unregisterDefault removes cs from the default registerer and reports how
// many were registered there.
func unregisterDefault(cs []prometheus.Collector) int {
	n := 0
	for _, c := range cs {
		if prometheus.DefaultRegisterer.Unregister(c) {
			n++
		}
	}
	return n
}

func defaultMilvusFamilies(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, n := range familyNames(gather(t, prometheus.DefaultGatherer)) {
		if strings.HasPrefix(n, "milvus_") {
			names = append(names, n)
		}
	}
	return names
}

func TestShimRegistersOnDefaultTwiceWithoutPanic(t *testing.T) {
	tests := []struct {
		name     string
		register func()
		coll     func() []prometheus.Collector
	}{
		{"RegisterRootCoord", registry.RegisterRootCoord, func() []prometheus.Collector { return registry.Default().RootCoord.Collectors() }},
		{"RegisterProxy", registry.RegisterProxy, func() []prometheus.Collector { return registry.Default().Proxy.Collectors() }},
		{"RegisterDataCoord", registry.RegisterDataCoord, func() []prometheus.Collector { return registry.Default().DataCoord.Collectors() }},
		{"RegisterDataNode", registry.RegisterDataNode, func() []prometheus.Collector { return registry.Default().DataNode.Collectors() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := tc.coll()
			t.Cleanup(func() { unregisterDefault(cs) })
			tc.register()
			tc.register() // a second call is a no-op, not a panic
			if n := unregisterDefault(cs); n != len(cs) {
				t.Errorf("%d of %d collectors were on the default registry", n, len(cs))
			}
		})
	}
	if got := registry.Default(); got != registry.Default() {
		t.Error("Default returns a different set on each call")
	}
}

func TestShimRootCoordIsVisibleOnDefaultGatherer(t *testing.T) {
	cs := registry.Default().RootCoord.Collectors()
	t.Cleanup(func() { unregisterDefault(cs) })
	registry.RegisterRootCoord()
	registry.RegisterRootCoord()
	// The plain dd time-tick gauge shows without any series being created.
	got := defaultMilvusFamilies(t)
	if len(got) != 1 || got[0] != "milvus_rootcoord_dd_channel_time_tick" {
		t.Errorf("milvus families on the default registry = %q", got)
	}
}

func TestShimEmptyComponentsRegisterNothing(t *testing.T) {
	for _, f := range []func(){registry.RegisterQueryCoord, registry.RegisterQueryNode, registry.RegisterIndexCoord, registry.RegisterIndexNode} {
		f()
	}
	// Had anything taken a seed name, a fresh set could not be registered.
	probe := registry.New()
	if err := probe.Register(prometheus.DefaultRegisterer); err != nil {
		t.Errorf("a seed name is taken after the empty Register functions: %v", err)
	}
	unregisterDefault(probe.Collectors())
}

// TestShimPanicsOnConflict checks the seed's MustRegister behaviour: a
// different collector under one of the names makes the shim panic with an
// error that names the metric, and none of the component is left registered.
func TestShimPanicsOnConflict(t *testing.T) {
	const name = "milvus_dataNode_watch_dm_channels_total"
	// Same help and labels, so that the default registry can take the
	// seed's collector once the conflict is gone.
	conflict := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Counter of watch dm channel"}, []string{"type"})
	if err := prometheus.DefaultRegisterer.Register(conflict); err != nil {
		t.Fatalf("registering the conflicting collector: %v", err)
	}
	t.Cleanup(func() { prometheus.DefaultRegisterer.Unregister(conflict) })
	cs := registry.Default().DataNode.Collectors()
	t.Cleanup(func() { unregisterDefault(cs) })

	recovered := func() (r any) {
		defer func() { r = recover() }()
		registry.RegisterDataNode()
		return nil
	}()
	if recovered == nil {
		t.Fatal("RegisterDataNode did not panic on a conflicting collector")
	}
	err, ok := recovered.(error)
	if !ok || !strings.Contains(err.Error(), name) {
		t.Errorf("panic value %v does not name %s", recovered, name)
	}

	if !prometheus.DefaultRegisterer.Unregister(conflict) {
		t.Fatal("could not unregister the conflicting collector")
	}
	if n := unregisterDefault(cs); n != 0 {
		t.Errorf("%d DataNode collectors stayed registered after the panic", n)
	}
	registry.RegisterDataNode() // no conflict left: no panic
	if n := unregisterDefault(cs); n != len(cs) {
		t.Errorf("%d of %d DataNode collectors registered after the conflict was removed", n, len(cs))
	}
}
