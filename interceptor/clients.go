package interceptor

import (
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// counters are the three children of one route for one client.
type counters struct {
	total, success, fail prometheus.Counter
}

// client is one client_id value with its children per client-scheme route,
// resolved on the client's first call of each route.
type client struct {
	label  string
	routes []atomic.Pointer[counters]
}

func newClient(label string, routes int) *client {
	return &client{label: label, routes: make([]atomic.Pointer[counters], routes)}
}

// counters returns the client's children of route idx of vec, resolving them
// on first use. Concurrent first uses resolve the same children.
func (c *client) counters(idx int, vec *prometheus.CounterVec) *counters {
	if cs := c.routes[idx].Load(); cs != nil {
		return cs
	}
	// label is valid UTF-8 (see sanitizeLabel) and vec's labels were checked
	// by methodmap, so WithLabelValues cannot panic here.
	cs := &counters{
		total:   vec.WithLabelValues(c.label, registry.TotalLabel),
		success: vec.WithLabelValues(c.label, registry.SuccessLabel),
		fail:    vec.WithLabelValues(c.label, registry.FailLabel),
	}
	c.routes[idx].Store(cs)
	return cs
}

// slot is one occupied place of a clientTable; dead marks a removed client,
// whose place stays taken until the next rebuild.
type slot struct {
	key  uint64
	str  string // the client's own string key, "" when keyed by SourceID
	c    *client
	dead atomic.Bool
}

// clientTable maps client keys to clients, with at most limit live clients.
// A client is keyed either by its SourceID (key = the SourceID, str = "") or
// by its label (key = a seeded hash of the label, str = the label, so that a
// hash collision never merges two clients). Reads are lock-free: an
// open-addressing table of atomic pointers, probed linearly, that is never
// more than half full. Writers (a new client, a removal) are serialised by mu
// and publish a rebuilt table when removed clients have used up the free
// places.
type clientTable struct {
	limit  int
	routes int

	slots atomic.Pointer[[]atomic.Pointer[slot]]
	live  atomic.Int64
	shift uint // 64 - log2(len(slots))

	mu   sync.Mutex
	used int // occupied places, dead ones included; guarded by mu
}

func newClientTable(limit, routes int) *clientTable {
	// A power of two at least twice limit+1 keeps the table at most half full.
	size := 1 << bits.Len(uint(2*limit+1))
	t := &clientTable{limit: limit, routes: routes, shift: uint(64 - bits.TrailingZeros(uint(size)))}
	s := make([]atomic.Pointer[slot], size)
	t.slots.Store(&s)
	return t
}

// index is the first place to probe for key.
func (t *clientTable) index(key uint64) uint64 { return key * 0x9E3779B97F4A7C15 >> t.shift }

// get returns the client of (key, str), or nil if it is not in the table.
func (t *clientTable) get(key uint64, str string) *client {
	s := *t.slots.Load()
	mask := uint64(len(s) - 1)
	for i := t.index(key); ; i = (i + 1) & mask {
		p := s[i].Load()
		if p == nil {
			return nil
		}
		if p.key == key && (len(str) == 0 || p.str == str) {
			if p.dead.Load() {
				return nil
			}
			return p.c
		}
	}
}

// admit returns the client of (key, str), adding it with the label that
// label returns if the limit allows, or nil if the table is full.
func (t *clientTable) admit(key uint64, str string, label func() string) *client {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.get(key, str); c != nil {
		return c // admitted by a concurrent caller
	}
	if t.live.Load() >= int64(t.limit) {
		return nil
	}
	s := *t.slots.Load()
	if 2*(t.used+1) > len(s) {
		s = t.rebuild(s)
	}
	mask := uint64(len(s) - 1)
	p := &slot{key: key, str: str, c: newClient(label(), t.routes)}
	for i := t.index(key); ; i = (i + 1) & mask {
		old := s[i].Load()
		if old == nil {
			t.used++
			s[i].Store(p)
			break
		}
		if old.key == key && old.str == str { // a removed client comes back: replace its place
			s[i].Store(p)
			break
		}
	}
	t.live.Add(1)
	return p.c
}

// rebuild publishes a table of the same size holding only live clients.
// Readers still probing the old one see a consistent, older view.
func (t *clientTable) rebuild(old []atomic.Pointer[slot]) []atomic.Pointer[slot] {
	s := make([]atomic.Pointer[slot], len(old))
	mask := uint64(len(s) - 1)
	t.used = 0
	for i := range old {
		p := old[i].Load()
		if p == nil || p.dead.Load() {
			continue
		}
		for j := t.index(p.key); ; j = (j + 1) & mask {
			if s[j].Load() == nil {
				s[j].Store(p)
				t.used++
				break
			}
		}
	}
	t.slots.Store(&s)
	return s
}

// remove marks every live client labelled label as removed and reports
// whether there was one.
func (t *clientTable) remove(label string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := *t.slots.Load()
	removed := false
	for i := range s {
		if p := s[i].Load(); p != nil && p.c.label == label && !p.dead.Load() {
			p.dead.Store(true)
			t.live.Add(-1)
			removed = true
		}
	}
	return removed
}
