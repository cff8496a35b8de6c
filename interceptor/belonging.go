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
