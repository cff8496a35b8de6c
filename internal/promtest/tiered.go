package promtest

import (
	"fmt"
	"path/filepath"
	"testing"
)

// RemoteWritePath is the path on which a server started by [StartReceiver]
// accepts remote writes.
const RemoteWritePath = "/api/v1/write"

// StartAgent runs bin in agent mode (--enable-feature=agent): it scrapes the
// jobs of cfg every second, stores nothing it can be queried for, and sends
// every sample to the remote-write URL remoteWrite, in batches sent at least
// every second. An agent evaluates no rules, so cfg must name no rule file.
func StartAgent(t testing.TB, bin string, cfg Config, remoteWrite string) *Server {
	t.Helper()
	if len(cfg.RuleFiles) > 0 {
		t.Fatalf("promtest: an agent evaluates no rules, but the config names %v", cfg.RuleFiles)
	}
	return run(t, bin, cfg.agentConfig(remoteWrite),
		"--enable-feature=agent",
		"--storage.agent.path="+filepath.Join(t.TempDir(), "agent"),
	)
}

// StartReceiver runs bin as a central server that accepts remote writes
// (--web.enable-remote-write-receiver) on [RemoteWritePath], besides
// scraping the jobs and evaluating the rule files of cfg, if any.
func StartReceiver(t testing.TB, bin string, cfg Config) *Server {
	t.Helper()
	return run(t, bin, cfg.config(),
		"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"),
		"--web.enable-remote-write-receiver",
	)
}

// agentConfig renders c as the configuration of an agent that remote-writes
// to the URL remoteWrite.
func (c Config) agentConfig(remoteWrite string) string {
	return c.config() + fmt.Sprintf(`remote_write:
  - url: %q
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
`, remoteWrite)
}
