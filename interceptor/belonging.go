package interceptor

import (
	"errors"
	"sync"
)

// belonging records that a set (or one side of [A66]) belongs to an
// install: a set counts into one install only, so that no call is counted
// twice. The zero value belongs to none.
type belonging struct {
	mu     sync.Mutex
	joined bool
}

// join makes the set belong to an install, or says that it belongs to
// another already.
func (b *belonging) join() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.joined {
		return errors.New("belongs to another install already: a set counts into one install, so that no call is counted twice")
	}
	b.joined = true
	return nil
}

// leave undoes join, for an install that failed to build.
func (b *belonging) leave() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.joined = false
}

// belonging returns the set's membership; nil for a nil set.
func (i *MilvusCounters) belonging() *belonging {
	if i == nil {
		return nil
	}
	return &i.member
}

// belonging returns the set's membership; nil for a nil set.
func (s *ServerMetrics) belonging() *belonging {
	if s == nil {
		return nil
	}
	return &s.member
}

// belonging returns the set's membership; nil for a nil set.
func (c *ClientMetrics) belonging() *belonging {
	if c == nil {
		return nil
	}
	return &c.member
}

// belonging returns the set's membership; nil for a nil set.
func (m *Milvus26) belonging() *belonging {
	if m == nil {
		return nil
	}
	return &m.member
}

// serverBelonging returns the membership of the set's server side; nil
// for a nil set.
func (a *A66) serverBelonging() *belonging {
	if a == nil {
		return nil
	}
	return &a.serverSide
}

// clientBelonging returns the membership of the set's client side; nil
// for a nil set.
func (a *A66) clientBelonging() *belonging {
	if a == nil {
		return nil
	}
	return &a.clientSide
}
