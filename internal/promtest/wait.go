package promtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Patience bounds every wait on a Prometheus server or its targets: for it
// to become ready, to scrape its targets, to answer as a test expects. It
// is long enough for the first run on a new machine, where cold builds
// compete with the servers for a few cores, so that it only ends a wait
// that hangs; the tests never wait for a time, only for an event.
const Patience = 4 * time.Minute

// pollEvery is how often [Await] tries again.
const pollEvery = 250 * time.Millisecond

// Await calls try until it reports done, pausing between tries, and fails
// the test with what, the time waited and try's last state if [Patience]
// passes first. try gets a context that ends with the wait: requests it
// makes with it end then too.
func Await(t testing.TB, what string, try func(ctx context.Context) (done bool, state string)) {
	t.Helper()
	if state, ok := Poll(try); !ok {
		t.Fatalf("%s: still not the case after %v: %s", what, Patience, state)
	}
}

// Poll is [Await] for a caller that reports a failure itself: it returns
// try's last state and whether try reported done before [Patience]
// passed.
func Poll(try func(ctx context.Context) (done bool, state string)) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	for {
		done, state := try(ctx)
		if done {
			return state, true
		}
		select {
		case <-ctx.Done():
			return state, false
		case <-time.After(pollEvery):
		}
	}
}

// WaitScraped waits until the server holds at least scrapes successful
// scrapes (up == 1) of each of targets targets, its own or, for a server
// that receives remote writes, an agent's: then rates over a minute have
// the samples they need and every target answers. If [Patience] passes
// first, it fails the test with the scrapes counted and, for a server that
// scrapes, its targets' health and last errors.
func (s *Server) WaitScraped(t testing.TB, targets, scrapes int) {
	t.Helper()
	query := fmt.Sprintf("sum_over_time(up[1h]) >= %d", scrapes)
	state, ok := Poll(func(ctx context.Context) (bool, string) {
		samples, err := Query(ctx, s.URL, query)
		if err != nil {
			return false, err.Error()
		}
		return len(samples) >= targets, fmt.Sprintf("%d of %d targets scraped %d times or more", len(samples), targets, scrapes)
	})
	if ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	health, err := Targets(ctx, s.URL)
	if err != nil {
		t.Fatalf("prometheus did not scrape its targets within %v: %s; its targets: %v", Patience, state, err)
	}
	var b strings.Builder
	for _, tg := range health {
		fmt.Fprintf(&b, "\n  %s %s %s", tg.ScrapeURL, tg.Health, tg.LastError)
	}
	t.Fatalf("prometheus did not scrape its targets within %v: %s; its targets:%s", Patience, state, b.String())
}
