package interceptor

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
)

// TestBoundedValuesOfATuple bounds (db_name, collection_name) pairs, as a
// metric set with two labels from its calls would: a limit, one overflow
// entry, an overflow counter, a fixed value outside the limit, removal.
func TestBoundedValuesOfATuple(t *testing.T) {
	type pair = [2]string
	type entry struct{ name string }
	overflowTotal := prometheus.NewCounter(prometheus.CounterOpts{Name: "en_overflow_total", Help: "x"})
	b := newBoundedValues[pair](2, &entry{"overflow"}, overflowTotal)
	b.fix(pair{"", ""}, &entry{"none"})
	admit := func(k pair) *entry {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.admitLocked(k, func() *entry { return &entry{k[0] + "/" + k[1]} })
	}

	assert.Equal(t, "db/a", admit(pair{"db", "a"}).name)
	assert.Equal(t, "db/b", admit(pair{"db", "b"}).name)
	assert.Equal(t, "db/a", admit(pair{"db", "a"}).name, "a kept value keeps its entry")
	assert.Equal(t, "overflow", admit(pair{"db", "c"}).name, "beyond the limit")
	assert.Equal(t, "overflow", admit(pair{"other", "a"}).name, "the tuple is the value")
	assert.Equal(t, 2.0, testutil.ToFloat64(overflowTotal))
	e, ok := b.load(pair{"", ""})
	assert.True(t, ok)
	assert.Equal(t, "none", e.name, "fixed values are there from the start")
	assert.Equal(t, 2, b.len(), "fixed values are not counted")

	b.mu.Lock()
	removed, ok := b.removeLocked(pair{"db", "a"})
	_, fixedRemoved := b.removeLocked(pair{"", ""})
	b.mu.Unlock()
	assert.True(t, ok)
	assert.Equal(t, "db/a", removed.name)
	assert.False(t, fixedRemoved, "fixed values are never removed")
	assert.Equal(t, "db/c", admit(pair{"db", "c"}).name, "a removal frees a place")
	assert.Equal(t, 2.0, testutil.ToFloat64(overflowTotal))
}
