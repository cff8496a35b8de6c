package interceptor

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// boundedValues keeps the values of a label that calls bring, or of a tuple
// of such labels (K is then an array or a struct of strings): at most limit
// of them, each with its entry E, which holds the value's series. Whatever
// the set, it gives each such label the same four guarantees:
//   - a limit: at most limit values are kept, fixed values aside;
//   - one overflow value: a call whose value finds no room counts under
//     the overflow entry;
//   - an overflow counter, incremented by each such call (by the owner
//     of the values, if it counts its overflow calls itself);
//   - removal: a value that left is forgotten and frees its place.
//
// Fixed values (client_id's unknown and overflow values, say) are kept
// apart: always there, never counted against the limit, never removed.
//
// Calls read the entries through a sync.Map without a lock. One mutex, mu,
// orders everything that adds or deletes series: admitting a value,
// resolving an entry's series, and removal (which takes the value out of
// the map before its series are deleted). So a call that starts after a
// removal has returned never finds the removed entry. The methods whose
// names end in Locked must be called with mu held; the set that owns the
// values holds it around its own work on the entry too.
type boundedValues[K comparable, E any] struct {
	limit         int
	overflow      *E                 // the entry of the values beyond the limit
	overflowTotal prometheus.Counter // calls counted under overflow; nil: the owner counts them

	entries sync.Map // K → *E, the fixed values too
	fixed   map[K]bool

	// keyOf, if set before any call, returns the key, equal to the call's,
	// that a new entry is kept under: one the entry holds, cloned out of
	// the call, so that the table keeps no memory the call's key shares
	// (with a request, say). Without it the call's key is kept.
	keyOf func(*E) K

	mu   sync.Mutex
	kept int // values in entries, fixed ones excluded; guarded by mu
}

func newBoundedValues[K comparable, E any](limit int, overflow *E, overflowTotal prometheus.Counter) *boundedValues[K, E] {
	return &boundedValues[K, E]{limit: limit, overflow: overflow, overflowTotal: overflowTotal, fixed: make(map[K]bool)}
}

// fix adds a fixed value, before any call.
func (b *boundedValues[K, E]) fix(k K, e *E) {
	b.fixed[k] = true
	b.entries.Store(k, e)
}

// load returns the entry of a kept (or fixed) value, without a lock.
func (b *boundedValues[K, E]) load(k K) (*E, bool) {
	v, ok := b.entries.Load(k)
	if !ok {
		return nil, false
	}
	return v.(*E), true
}

// admitLocked returns the entry of k: its own if it is kept, else a new
// one that newEntry makes if the limit allows, else the overflow entry,
// counting the overflow (unless the owner counts it).
func (b *boundedValues[K, E]) admitLocked(k K, newEntry func() *E) *E {
	if e, ok := b.load(k); ok {
		return e
	}
	if b.kept >= b.limit {
		if b.overflowTotal != nil {
			b.overflowTotal.Inc()
		}
		return b.overflow
	}
	e := newEntry()
	if b.keyOf != nil {
		k = b.keyOf(e)
	}
	b.entries.Store(k, e)
	b.kept++
	return e
}

// removeLocked forgets k and returns its entry; a fixed or unknown value
// is not removed.
func (b *boundedValues[K, E]) removeLocked(k K) (*E, bool) {
	if b.fixed[k] {
		return nil, false
	}
	v, ok := b.entries.LoadAndDelete(k)
	if !ok {
		return nil, false
	}
	b.kept--
	return v.(*E), true
}

// len returns the number of kept values, the fixed ones excluded.
func (b *boundedValues[K, E]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.kept
}
