package promtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAgentConfig(t *testing.T) {
	c := Config{Jobs: []Job{{Name: "a", Targets: []string{"127.0.0.1:1"}}}, ExternalLabels: map[string]string{"replica": "b", "cluster": "x"}}
	want := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
  external_labels:
    cluster: "x"
    replica: "b"
scrape_configs:
  - job_name: "a"
    static_configs:
      - targets:
          - "127.0.0.1:1"
remote_write:
  - url: "http://127.0.0.1:2/api/v1/write"
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
`
	assert.Equal(t, want, c.agentConfig("http://127.0.0.1:2"+RemoteWritePath))
}
