// Package recoverylog is the examples' recovery handler for
// go-grpc-middleware's recovery interceptors: it logs a handler's panic on
// the server and answers the client with [codes.Internal] and the fixed
// message [Message], never the panic value or a stack.
//
// recovery's default handler formats the panic value and the goroutine's
// stack into the error the client receives: file paths, function names and
// whatever the panic value holds. Install it with this handler instead,
// outermost, on both kinds of call:
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(recoverylog.Option(logger)), sm.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(recoverylog.Option(logger)), sm.StreamServerInterceptor()),
//	)
//
// It is four lines; a program of your own may as well write them in place,
// as examples/wiring does.
package recoverylog
