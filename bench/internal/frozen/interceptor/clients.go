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

	// The SourceID that keys the client in bySource too, if any; guarded
	// by the table's mu.
	sourceID  int64
	hasSource bool
}

// clientTable holds the clients of the client-labelled routes: at most limit
// of them, plus the fixed unknown and overflow clients.
//
// A client is one exported client_id value: byLabel holds every client by
// that value (the fixed ones too), and bySource holds, by SourceID, those
// that a [SourceID] has named, so that a SourceID's call finds its client
// without formatting its label. [Label]("client_7") and [SourceID](7) reach
// the same client, which is admitted once, by its label.
//
// Calls read the clients through the two sync.Maps without a lock, and a
// client's resolved series through an atomic pointer. One mutex orders
// everything that adds or deletes series: admitting a client, resolving a
// client's series of a route, and removing a client (which takes it out of
// the maps before it deletes its series). So a call that starts after
// RemoveClient has returned never finds the removed client and never uses
// series that the removal deleted.
type clientTable struct {
	limit    int
	vecs     []*prometheus.CounterVec // the client-labelled routes' counters
	overflow prometheus.Counter       // grpcmetrics_client_id_overflow_total

	bySource sync.Map // int64 → *client, also in byLabel
	byLabel  sync.Map // exported label → *client

	mu          sync.Mutex
	tracked     int // clients in the maps; guarded by mu
	unknown     *client
	overflowing *client
}

func newClientTable(limit int, vecs []*prometheus.CounterVec, overflow prometheus.Counter) *clientTable {
	t := &clientTable{
		limit:       limit,
		vecs:        vecs,
		overflow:    overflow,
		unknown:     &client{label: registry.UnknownClientLabel, routes: make([]atomic.Pointer[counts], len(vecs))},
		overflowing: &client{label: registry.OverflowClientLabel, routes: make([]atomic.Pointer[counts], len(vecs))},
	}
	// A Label equal to a fixed label is that fixed client. (Label gives
	// the zero ClientID for the unknown label; storing both is simpler.)
	t.byLabel.Store(t.unknown.label, t.unknown)
	t.byLabel.Store(t.overflowing.label, t.overflowing)
	return t
}

// counts returns the series of id's call of client-labelled route ix.
func (t *clientTable) counts(id ClientID, ix int) *counts {
	if c := t.lookup(id); c != nil {
		if cs := c.routes[ix].Load(); cs != nil {
			return cs
		}
	}
	return t.resolve(id, ix)
}

// lookup returns the client of id if it is tracked (or fixed), else nil.
func (t *clientTable) lookup(id ClientID) *client {
	var (
		v  any
		ok bool
	)
	switch id.kind {
	case sourceClient:
		v, ok = t.bySource.Load(id.sourceID)
	case labelClient:
		v, ok = t.byLabel.Load(id.label) // exported already: see Label
	default:
		return t.unknown
	}
	if !ok {
		return nil
	}
	return v.(*client)
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

// admit returns the client of id: the client of its label if there is one,
// else a new one if the limit allows, else the overflow client. A SourceID
// is added to bySource beside its label. t.mu must be held.
func (t *clientTable) admit(id ClientID) *client {
	if c := t.lookup(id); c != nil {
		return c
	}
	label := id.String()
	var c *client
	if v, ok := t.byLabel.Load(label); ok {
		c = v.(*client) // a SourceID whose label a Label admitted
	} else {
		if t.tracked >= t.limit {
			t.overflow.Inc()
			return t.overflowing
		}
		// Clone: the table outlives the call, and a label may share
		// memory with the request (Label cuts without copying).
		c = &client{label: strings.Clone(label), routes: make([]atomic.Pointer[counts], len(t.vecs))}
		t.byLabel.Store(c.label, c)
		t.tracked++
	}
	if id.kind == sourceClient {
		c.sourceID, c.hasSource = id.sourceID, true
		t.bySource.Store(id.sourceID, c)
	}
	return c
}

// remove forgets the client of id, under every key that reaches it, and
// deletes the series of its label, and reports whether there was anything
// to remove. The fixed clients stay.
func (t *clientTable) remove(id ClientID) bool {
	label := id.String()
	if label == registry.UnknownClientLabel || label == registry.OverflowClientLabel {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	removed := false
	if v, ok := t.byLabel.LoadAndDelete(label); ok {
		if c := v.(*client); c.hasSource {
			t.bySource.Delete(c.sourceID)
		}
		t.tracked--
		removed = true
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
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tracked
}
