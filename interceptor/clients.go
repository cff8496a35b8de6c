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
type slot[K comparable] struct {
	key  K
	c    *client
	dead atomic.Bool
}

// clientTable maps client keys to clients, with at most limit live clients.
// Reads are lock-free: an open-addressing table of atomic pointers, probed
// linearly, that is never more than half full. Writers (a new client, a
// removal) are serialised by mu and publish a rebuilt table when removed
// clients have used up the free places.
type clientTable[K comparable] struct {
	hash   func(K) uint64
	label  func(K) string
	limit  int
	routes int

	slots atomic.Pointer[[]atomic.Pointer[slot[K]]]
	live  atomic.Int64
	shift uint // 64 - log2(len(slots))

	mu   sync.Mutex
	used int // occupied places, dead ones included; guarded by mu
}

func newClientTable[K comparable](limit, routes int, hash func(K) uint64, label func(K) string) *clientTable[K] {
	// A power of two at least twice limit+1 keeps the table at most half full.
	size := 1 << bits.Len(uint(2*limit+1))
	t := &clientTable[K]{hash: hash, label: label, limit: limit, routes: routes, shift: uint(64 - bits.TrailingZeros(uint(size)))}
	s := make([]atomic.Pointer[slot[K]], size)
	t.slots.Store(&s)
	return t
}

// get returns the client of key, admitting it if the limit allows, or nil if
// the table is full.
func (t *clientTable[K]) get(key K) *client {
	if c := t.find(*t.slots.Load(), key); c != nil {
		return c
	}
	if t.live.Load() >= int64(t.limit) {
		return nil
	}
	return t.admit(key)
}

func (t *clientTable[K]) find(s []atomic.Pointer[slot[K]], key K) *client {
	mask := uint64(len(s) - 1)
	for i := t.hash(key) >> t.shift; ; i = (i + 1) & mask {
		p := s[i].Load()
		if p == nil {
			return nil
		}
		if p.key == key {
			if p.dead.Load() {
				return nil
			}
			return p.c
		}
	}
}

func (t *clientTable[K]) admit(key K) *client {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := *t.slots.Load()
	if c := t.find(s, key); c != nil {
		return c // admitted by a concurrent caller
	}
	if t.live.Load() >= int64(t.limit) {
		return nil
	}
	if 2*(t.used+1) > len(s) {
		s = t.rebuild(s)
	}
	mask := uint64(len(s) - 1)
	p := &slot[K]{key: key, c: newClient(t.label(key), t.routes)}
	for i := t.hash(key) >> t.shift; ; i = (i + 1) & mask {
		old := s[i].Load()
		if old == nil {
			t.used++
			s[i].Store(p)
			break
		}
		if old.key == key { // a removed client comes back: replace its place
			s[i].Store(p)
			break
		}
	}
	t.live.Add(1)
	return p.c
}

// rebuild publishes a table of the same size holding only live clients.
// Readers still probing the old one see a consistent, older view.
func (t *clientTable[K]) rebuild(old []atomic.Pointer[slot[K]]) []atomic.Pointer[slot[K]] {
	s := make([]atomic.Pointer[slot[K]], len(old))
	mask := uint64(len(s) - 1)
	t.used = 0
	for i := range old {
		p := old[i].Load()
		if p == nil || p.dead.Load() {
			continue
		}
		for j := t.hash(p.key) >> t.shift; ; j = (j + 1) & mask {
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
func (t *clientTable[K]) remove(label string) bool {
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
