package mixin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContractRefusesWhatNoSetWrites checks the generator's guard: a query
// on a label value, or a label, that the flavour's sets never write is
// refused with an error that names it; what they write passes.
func TestContractRefusesWhatNoSetWrites(t *testing.T) {
	line := func(l string) Config {
		c := DefaultConfig(Milvus26)
		c.Milvus26Line = l
		return c
	}
	tests := []struct {
		name string
		c    Config
		expr string
		want string // "" to pass
	}{
		{"v2.6.19's status", line(Milvus26V2621), `sum(rate(milvus_proxy_req_count{job="milvus26", status="fail_input"}[5m]))`,
			`milvus26-v2.6.21: milvus_proxy_req_count matches status="fail_input", a value that no set writes (milvus26/v2.6.21, provider-client: ["abandon" "fail" "rejected" "retry" "success" "total"])`},
		{"v2.6.19's status in an alternation", line(Milvus26V2620), `milvus_proxy_req_count{status=~"fail|fail_system"}`, `matches status=~"fail_system"`},
		{"na on v2.6.21", line(Milvus26V2621), `milvus_proxy_req_count{cause="na"}`, `matches cause="na", a value that no set writes`},
		{"na on v2.6.20", line(Milvus26V2620), `milvus_proxy_req_count{cause="na"}`, ""},
		{"cause on v2.6.16", line(""), `milvus_proxy_req_count{status="fail", cause="user"}`, `matches cause="user", a label that no set writes on it`},
		{"no cause on v2.6.16", line(""), `milvus_proxy_req_count{cause=""}`, ""},
		{"abandon", line(Milvus26V2616), `milvus_proxy_req_count{status="abandon"}`, ""},
		{"total in the latency histogram", line(Milvus26V2621), `milvus_proxy_grpc_latency_bucket{status="total"}`, `milvus_proxy_grpc_latency_bucket matches status="total"`},
		{"a code's name", DefaultConfig(Generic), `grpc_server_handled_total{grpc_code="NOT_FOUND"}`, `matches grpc_code="NOT_FOUND"`},
		{"A66's name of it", DefaultConfig(A66), `grpc_server_call_duration_seconds_count{grpc_status="NOT_FOUND"}`, ""},
		{"a type", DefaultConfig(Generic), `grpc_server_started_total{grpc_type="stream"}`, `matches grpc_type="stream"`},
		{"Milvus v2.0's type", DefaultConfig(Milvus), `milvus_rootcoord_create_collection_total{type="rejected"}`, `matches type="rejected"`},
		{"open labels are not checked", DefaultConfig(Milvus26), `milvus_proxy_req_count{function_name="Anything", db_name=~".+"}`, ""},
		{"template variables are not checked", DefaultConfig(Milvus26), `milvus_proxy_req_count{job=~"$job", status=~"$status"}`, ""},
		{"recorded series are not the contract's", DefaultConfig(Milvus26), `method:grpcmetrics_error_ratio:rate5m{cause="anything"}`, ""},
		{"a context label", func() Config { c := DefaultConfig(Generic); c.ContextLabels = []string{"tenant"}; return c }(), `grpc_server_started_total{tenant="a"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.checkContract([]string{tt.expr})
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestGeneratedQueriesKeepToTheContract generates every checked-in variant
// and every Milvus 2.6 line: the generator checks its own queries, so
// generating at all shows that none asks for what no set writes.
func TestGeneratedQueriesKeepToTheContract(t *testing.T) {
	configs := Variants()
	for _, l := range []string{Milvus26V2616, Milvus26V2620} {
		c := DefaultConfig(Milvus26)
		c.Milvus26Line = l
		configs = append(configs, c)
	}
	for _, c := range configs {
		if c.Flavour == Milvus {
			continue // needs routes; the generator's own test covers it
		}
		t.Run(c.Name()+"/"+c.Milvus26Line, func(t *testing.T) {
			_, err := Generate(c)
			require.NoError(t, err)
		})
	}
}
