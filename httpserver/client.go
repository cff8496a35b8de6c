package httpserver

import (
	"fmt"
	"net"
	"net/http"
	"sync"
)

// clientLimiter passes a request on to next unless its client, told by the
// IP address of its connection, already has limit requests in flight through
// this limiter; then it answers 503 at once, as promhttp does beyond
// MaxRequestsInFlight.
type clientLimiter struct {
	next  http.Handler
	limit int

	mu       sync.Mutex
	inFlight map[string]int // by client; a client with none has no entry
}

func newClientLimiter(next http.Handler, limit int) *clientLimiter {
	return &clientLimiter{next: next, limit: limit, inFlight: map[string]int{}}
}

func (l *clientLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := clientOf(r)
	if !l.acquire(client) {
		http.Error(w, fmt.Sprintf("Limit of concurrent requests per client reached (%d), try again later.", l.limit), http.StatusServiceUnavailable)
		return
	}
	defer l.release(client)
	l.next.ServeHTTP(w, r)
}

// acquire takes one of client's slots, if it has one left.
func (l *clientLimiter) acquire(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[client] >= l.limit {
		return false
	}
	l.inFlight[client]++
	return true
}

// release gives back one of client's slots. The map holds only the
// clients with requests in flight, so it never outgrows the connections.
func (l *clientLimiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[client]--; l.inFlight[client] <= 0 {
		delete(l.inFlight, client)
	}
}

// clientOf returns the IP address r came from: the host of its RemoteAddr,
// which net/http sets to the connection's peer (headers such as
// X-Forwarded-For, which any client can write, are not read).
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
