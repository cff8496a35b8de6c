package interceptor

import "time"

// clock is an install's one clock: every set that times a call (the
// latency histogram, Milvus 2.6's, gRPC's own) reads the same two
// readings. It measures from an epoch of its own: time.Since on a time
// with a monotonic reading reads only the monotonic clock, where time.Now
// reads the wall clock too.
type clock struct{ epoch time.Time }

func newClock() clock { return clock{epoch: time.Now()} }

// now returns the time since the clock's epoch.
func (k clock) now() time.Duration { return time.Since(k.epoch) }
