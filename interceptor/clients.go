package interceptor

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// counts are the series that one call increments: total when it starts,
// then success or fail when it ends.
type counts struct {
	total, success, fail prometheus.Counter
}

func newCounts(vec *prometheus.CounterVec, clientLabel string) *counts {
	// clientLabel is valid UTF-8 (see sanitizeLabel) and vec's label names
	// were checked by methodmap, so WithLabelValues cannot panic here.
	return &counts{
		total:   vec.WithLabelValues(clientLabel, registry.TotalLabel),
		success: vec.WithLabelValues(clientLabel, registry.SuccessLabel),
		fail:    vec.WithLabelValues(clientLabel, registry.FailLabel),
	}
}

// client is one client_id value with its series per client-labelled route,
// resolved on the client's first call of each route.
type client struct {
	label  string
	routes []atomic.Pointer[counts]
}

// clientTable holds the clients of the client-labelled routes: at most limit
// of them, plus the fixed unknown and overflow clients.
//
// One mutex orders everything that adds or deletes series: admitting a
// client, resolving a client's series of a route, and removing a client
// (which deletes its series). A call reads the map under the read lock and,
// once a client has called a route, the resolved series without any lock.
// So a call that starts after RemoveClient has returned never finds the
// removed client and never uses series that the removal deleted.
type clientTable struct {
	limit    int
	vecs     []*prometheus.CounterVec // the client-labelled routes' counters
	overflow prometheus.Counter       // grpcmetrics_client_id_overflow_total

	mu          sync.RWMutex
	byID        map[ClientID]*client
	unknown     *client
	overflowing *client
}

func newClientTable(limit int, vecs []*prometheus.CounterVec, overflow prometheus.Counter) *clientTable {
	return &clientTable{
		limit:       limit,
		vecs:        vecs,
		overflow:    overflow,
		byID:        make(map[ClientID]*client),
		unknown:     &client{label: registry.UnknownClientLabel, routes: make([]atomic.Pointer[counts], len(vecs))},
		overflowing: &client{label: registry.OverflowClientLabel, routes: make([]atomic.Pointer[counts], len(vecs))},
	}
}

// counts returns the series of id's call of client-labelled route ix.
func (t *clientTable) counts(id ClientID, ix int) *counts {
	c := t.unknown
	if id.kind != unknownClient {
		t.mu.RLock()
		c = t.byID[id]
		t.mu.RUnlock()
	}
	if c != nil {
		if cs := c.routes[ix].Load(); cs != nil {
			return cs
		}
	}
	return t.resolve(id, ix)
}

// resolve admits id if it is new and resolves its series of route ix.
func (t *clientTable) resolve(id ClientID, ix int) *counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.admit(id)
	if cs := c.routes[ix].Load(); cs != nil {
		return cs
	}
	cs := newCounts(t.vecs[ix], c.label)
	c.routes[ix].Store(cs)
	return cs
}

// admit returns the client of id, adding it if the limit allows, or the
// overflow client. t.mu must be held for writing.
func (t *clientTable) admit(id ClientID) *client {
	if id.kind == unknownClient {
		return t.unknown
	}
	if c := t.byID[id]; c != nil {
		return c
	}
	if len(t.byID) >= t.limit {
		t.overflow.Inc()
		return t.overflowing
	}
	// Clone: the table outlives the call, and a label may share memory
	// with the request.
	id.label = strings.Clone(id.label)
	c := &client{label: id.String(), routes: make([]atomic.Pointer[counts], len(t.vecs))}
	t.byID[id] = c
	return c
}

// remove forgets every client labelled label and deletes its series, and
// reports whether there was anything to remove. The fixed labels stay.
func (t *clientTable) remove(label string) bool {
	if label == registry.UnknownClientLabel || label == registry.OverflowClientLabel {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := false
	for id, c := range t.byID {
		if c.label == label {
			delete(t.byID, id)
			removed = true
		}
	}
	for _, vec := range t.vecs {
		if vec.DeletePartialMatch(prometheus.Labels{registry.LabelClientID: label}) > 0 {
			removed = true
		}
	}
	return removed
}

// len returns the number of tracked clients, the fixed ones excluded.
func (t *clientTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byID)
}
