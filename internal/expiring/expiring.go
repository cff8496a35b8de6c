package expiring

import (
	"context"
	"sync"
	"time"
)

// Far is how far away the deadline of a [Context] is reported to be.
const Far = time.Hour

// Context is a context whose deadline passes when [Context.Expire] is
// called. Its values are its parent's; the parent's cancellation does not
// reach it.
type Context struct {
	context.Context // the parent, for its values
	deadline        time.Time
	done            chan struct{}
	once            sync.Once
}

// New returns a Context under parent, with a deadline [Far] away.
func New(parent context.Context) *Context {
	return &Context{Context: parent, deadline: time.Now().Add(Far), done: make(chan struct{})}
}

// Deadline returns the deadline [Far] from when the Context was made.
func (c *Context) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel that is closed by [Context.Expire].
func (c *Context) Done() <-chan struct{} { return c.done }

// Err returns [context.DeadlineExceeded] once [Context.Expire] has been
// called, else nil.
func (c *Context) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// Expire lets the deadline pass: Done is closed and Err returns
// [context.DeadlineExceeded]. Calling it again does nothing.
func (c *Context) Expire() { c.once.Do(func() { close(c.done) }) }
