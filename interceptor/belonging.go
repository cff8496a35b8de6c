package interceptor

import (
	"errors"
	"fmt"
	"sync"

	"go.uber.org/zap"
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

// member is a set (or a side of A66) that joins an install: its name in
// the install's sets, its membership, and its context labels' tuples, if
// any, which log through the install's logger.
type member struct {
	name   string
	b      *belonging
	tuples *ctxTuples
}

// joinAll makes every member belong to the install, all or none: an error
// names the first member that belongs to another install already.
func joinAll(members []member, logger *zap.Logger) error {
	for i, m := range members {
		if err := m.b.join(); err != nil {
			for _, done := range members[:i] {
				done.b.leave()
			}
			return fmt.Errorf("%s %w", m.name, err)
		}
	}
	for _, m := range members {
		if m.tuples != nil {
			m.tuples.logger = logger
		}
	}
	return nil
}
