package registry_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
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
			assert.Equal(t, len(cs), unregisterDefault(cs), "collectors that were on the default registry")
		})
	}
	assert.Same(t, registry.Default(), registry.Default(), "Default returns a different set on each call")
}

func TestShimRootCoordIsVisibleOnDefaultGatherer(t *testing.T) {
	cs := registry.Default().RootCoord.Collectors()
	t.Cleanup(func() { unregisterDefault(cs) })
	registry.RegisterRootCoord()
	registry.RegisterRootCoord()
	// The plain dd time-tick gauge shows without any series being created.
	assert.Equal(t, []string{"milvus_rootcoord_dd_channel_time_tick"}, defaultMilvusFamilies(t),
		"milvus families on the default registry")
}

func TestShimEmptyComponentsRegisterNothing(t *testing.T) {
	for _, f := range []func(){registry.RegisterQueryCoord, registry.RegisterQueryNode, registry.RegisterIndexCoord, registry.RegisterIndexNode} {
		f()
	}
	// Had anything taken a seed name, a fresh set could not be registered.
	probe := registry.New()
	assert.NoError(t, probe.Register(prometheus.DefaultRegisterer),
		"a seed name is taken after the empty Register functions")
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
	require.NoError(t, prometheus.DefaultRegisterer.Register(conflict), "registering the conflicting collector")
	t.Cleanup(func() { prometheus.DefaultRegisterer.Unregister(conflict) })
	cs := registry.Default().DataNode.Collectors()
	t.Cleanup(func() { unregisterDefault(cs) })

	recovered := func() (r any) {
		defer func() { r = recover() }()
		registry.RegisterDataNode()
		return nil
	}()
	require.NotNil(t, recovered, "RegisterDataNode did not panic on a conflicting collector")
	err, ok := recovered.(error)
	if assert.True(t, ok, "panic value %v is not an error", recovered) {
		assert.ErrorContains(t, err, name)
	}

	require.True(t, prometheus.DefaultRegisterer.Unregister(conflict), "could not unregister the conflicting collector")
	assert.Zero(t, unregisterDefault(cs), "DataNode collectors that stayed registered after the panic")
	registry.RegisterDataNode() // no conflict left: no panic
	assert.Equal(t, len(cs), unregisterDefault(cs), "DataNode collectors registered after the conflict was removed")
}
