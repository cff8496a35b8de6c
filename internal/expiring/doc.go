// Package expiring gives tests a context whose deadline passes when the
// test says so, not at a time: [New] returns it, [Context.Expire] lets its
// deadline pass.
//
// A test of what a call that runs out of time counts needs the call to
// reach the server (or a stream's client its first message) before the
// deadline passes. A short real deadline does not promise that: on a busy
// machine it can pass before the call is sent. An expiring context reports
// a deadline an hour away, so that neither grpc-go's timers nor the
// server's fire, and becomes done with [context.DeadlineExceeded] when the
// test calls Expire, at the point it chooses. grpc-go then ends the call on
// the client with codes.DeadlineExceeded and resets the stream, which the
// server sees as a cancellation.
package expiring
