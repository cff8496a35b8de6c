package mixin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// Flavour selects the metric names that the rules and the dashboard read.
type Flavour string

const (
	// Milvus reads Milvus v2.0's per-method counters of the Milvus table.
	Milvus Flavour = "milvus"
	// Generic reads go-grpc-middleware's provider names and grpcmetrics'
	// response-failed counter.
	Generic Flavour = "generic"
	// Milvus26 reads Milvus 2.6's request counter milvus_proxy_req_count
	// (one name for every method, the method in function_name, the outcome
	// in status) and its latency histogram milvus_proxy_req_latency, as the
	// interceptor package's Milvus 2.6 metric set fills them.
	Milvus26 Flavour = "milvus26"
	// A66 reads gRPC's own metrics (gRFC A66): the server's call duration
	// histogram grpc_server_call_duration_seconds, by grpc_method and
	// grpc_status, and the client's, as interceptor.A66 and grpc-go's
	// OpenTelemetry plugin write them.
	A66 Flavour = "a66"
)

// Flavours returns every flavour, in the order the generator writes them.
func Flavours() []Flavour { return []Flavour{Milvus, Generic, Milvus26, A66} }

// Burn-rate alerting as in Google's SRE workbook ("Alerting on SLOs",
// multiwindow, multi-burn-rate alerts): the fast alert fires when 2% of a
// 30-day error budget burns in an hour, the slow one when 5% burns in six.
const (
	// FastBurnFactor is the burn rate of the fast (paging) alert, over 1h and 5m.
	FastBurnFactor = 14.4
	// SlowBurnFactor is the burn rate of the slow (ticket) alert, over 6h and 30m.
	SlowBurnFactor = 6
)

// Config says what to generate.
type Config struct {
	// Flavour selects the metric names.
	Flavour Flavour
	// Routes are the counted methods of the Milvus flavour (see
	// [MilvusRoutes]); the generic, Milvus 2.6 and A66 flavours take none, since
	// their metrics carry the method as labels.
	Routes []Route
	// Job, if set, restricts the rules to one Prometheus job, and the
	// dashboard's job variable starts on it. Empty (the default), the rules
	// select the flavour's series by metric name in every job, so that one
	// scrape job of an endpoint that serves every metric set feeds every
	// flavour (each flavour's recorded series carry [FlavourLabel], so the
	// flavours never collide), and the job variable starts on All.
	Job string
	// ReplicaLabels are labels that tell apart the copies of one series
	// written by several Prometheus replicas, such as the external label of
	// each agent of a highly available pair that scrapes the same
	// instances and remote-writes to one store. The first recording rules
	// take each replica's rate apart and then the largest of them, so that
	// every recorded series counts each instance once however many
	// replicas scraped it. Empty by default: a store that deduplicates
	// replicas itself (Thanos, Cortex, Mimir) needs none.
	ReplicaLabels []string
	// Objective is the availability objective, the fraction of calls that
	// must not fail, such as 0.999. It sets the burn-rate thresholds.
	Objective float64
	// ErrorRatio is the per-method error ratio above which the
	// GrpcmetricsHighErrorRatio alert fires, such as 0.05.
	ErrorRatio float64
	// Latency adds the latency panels, which read
	// grpc_server_handling_seconds_bucket and show data only where the
	// histogram is on.
	Latency bool
	// ContextLabels names labels that the servers add to the provider's
	// families, or to gRPC's own (A66), from each call's context
	// (interceptor.WithContextLabels), such as "tenant". For each, the
	// generic and the A66 flavours' dashboards gain a row with the request
	// rate and the error ratio by that label. The Milvus flavours take
	// none. Empty by default.
	ContextLabels []string
	// Milvus26Line is the release line of the servers' Milvus 2.6 set
	// (interceptor.WithLine), for the Milvus 2.6 flavour: "v2.6.16" (or
	// empty, the default), "v2.6.20" or "v2.6.21". On the lines with the
	// cause label ("v2.6.20" and "v2.6.21"), the rules record the failures
	// by cause and the system failures' error ratio, an alert fires on the
	// failures that are Milvus's own, and the dashboard shows the error
	// ratio by cause and the user against the system failures. The other
	// flavours take none.
	Milvus26Line string
}

// Milvus 2.6 release lines, the values of [Config.Milvus26Line].
const (
	Milvus26V2616 = "v2.6.16"
	Milvus26V2620 = "v2.6.20"
	Milvus26V2621 = "v2.6.21"
)

// Name returns the base name of c's files: the flavour, and for the Milvus
// 2.6 flavour on a line with the cause label, the line too
// ("milvus26-v2.6.21").
func (c Config) Name() string {
	if c.causes() {
		return string(c.Flavour) + "-" + c.Milvus26Line
	}
	return string(c.Flavour)
}

// causes reports whether c reads the cause label of Milvus 2.6's lines
// since v2.6.20.
func (c Config) causes() bool {
	return c.Flavour == Milvus26 && (c.Milvus26Line == Milvus26V2620 || c.Milvus26Line == Milvus26V2621)
}

// Variants returns the configurations of the checked-in files, in the
// order the generator writes them: each flavour's default, and the Milvus
// 2.6 flavour on the current line with the cause label, v2.6.21 (whose
// queries read v2.6.20's series as well: they never name the cause of the
// outcomes without one).
func Variants() []Config {
	var out []Config
	for _, f := range Flavours() {
		out = append(out, DefaultConfig(f))
		if f == Milvus26 {
			c := DefaultConfig(f)
			c.Milvus26Line = Milvus26V2621
			out = append(out, c)
		}
	}
	return out
}

// DefaultConfig returns the configuration of the checked-in files for f:
// every job (no job selected), a 99.9% objective, a 5% error-ratio alert
// and the latency panels. Routes stay empty; the Milvus flavour needs them
// filled.
func DefaultConfig(f Flavour) Config {
	return Config{Flavour: f, Objective: 0.999, ErrorRatio: 0.05, Latency: true}
}

// validate reports the first thing wrong with c.
func (c Config) validate() error {
	switch c.Flavour {
	case Milvus:
		if len(c.Routes) == 0 {
			return errors.New("mixin: the milvus flavour needs routes")
		}
		if err := validateRoutes(c.Routes); err != nil {
			return err
		}
	case Generic, Milvus26, A66:
		if len(c.Routes) != 0 {
			return fmt.Errorf("mixin: the %s flavour takes no routes, got %d", c.Flavour, len(c.Routes))
		}
	default:
		return fmt.Errorf("mixin: unknown flavour %q (want %q, %q, %q or %q)", c.Flavour, Milvus, Generic, Milvus26, A66)
	}
	switch c.Milvus26Line {
	case "", Milvus26V2616, Milvus26V2620, Milvus26V2621:
	default:
		return fmt.Errorf("mixin: Milvus 2.6 line %q is no release line (want %q, %q or %q)", c.Milvus26Line, Milvus26V2616, Milvus26V2620, Milvus26V2621)
	}
	if c.Milvus26Line != "" && c.Flavour != Milvus26 {
		return fmt.Errorf("mixin: the %s flavour takes no Milvus 2.6 line, got %q", c.Flavour, c.Milvus26Line)
	}
	if len(c.ContextLabels) > 0 && c.Flavour != Generic && c.Flavour != A66 {
		return fmt.Errorf("mixin: the %s flavour takes no context labels, got %q", c.Flavour, c.ContextLabels)
	}
	if err := validateReplicaLabels(c.ReplicaLabels); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range c.ContextLabels {
		switch {
		case !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, "__"):
			return fmt.Errorf("mixin: context label %q is not a valid label name", l)
		case l == "job" || l == "instance" || l == "le" || strings.HasPrefix(l, "grpc_"):
			return fmt.Errorf("mixin: context label %q is a label the flavour's queries read already", l)
		case seen[l]:
			return fmt.Errorf("mixin: context label %q is given twice", l)
		}
		seen[l] = true
	}
	if c.Job != "" && !utf8.ValidString(c.Job) {
		return fmt.Errorf("mixin: job %q is not valid UTF-8", c.Job)
	}
	if !(c.Objective > 0 && c.Objective < 1) {
		return fmt.Errorf("mixin: objective %v is not between 0 and 1 (exclusive)", c.Objective)
	}
	if fast := FastBurnFactor * (1 - c.Objective); fast >= 1 {
		return fmt.Errorf("mixin: objective %v puts the fast-burn threshold at an error ratio of %.4g, which can never be exceeded; use an objective above %.4f",
			c.Objective, fast, 1-1/FastBurnFactor)
	}
	if !(c.ErrorRatio > 0 && c.ErrorRatio < 1) {
		return fmt.Errorf("mixin: error ratio %v is not between 0 and 1 (exclusive)", c.ErrorRatio)
	}
	return nil
}

// validateReplicaLabels checks that each replica label is a valid label
// name that the rules do not read already, given once.
func validateReplicaLabels(labels []string) error {
	seen := map[string]bool{}
	for _, l := range labels {
		switch {
		case !model.LegacyValidation.IsValidLabelName(l) || strings.HasPrefix(l, "__"):
			return fmt.Errorf("mixin: replica label %q is not a valid label name", l)
		case l == "job" || l == "instance" || l == "le" || l == FlavourLabel || strings.HasPrefix(l, "grpc_"):
			return fmt.Errorf("mixin: replica label %q is a label the rules read already", l)
		case seen[l]:
			return fmt.Errorf("mixin: replica label %q is given twice", l)
		}
		seen[l] = true
	}
	return nil
}

// methodLabel returns the one label that names a method in c's flavour
// (Milvus 2.6's function_name, A66's grpc_method), or "" for the flavours
// that name it by grpc_service and grpc_method.
func (c Config) methodLabel() string {
	switch c.Flavour {
	case Milvus26:
		return Milvus26FunctionName
	case A66:
		return A66Method
	}
	return ""
}

// methodLabels returns the labels that name a method in the recorded
// series of c's flavour, comma-separated for a "by" clause.
func (c Config) methodLabels() string {
	if l := c.methodLabel(); l != "" {
		return l
	}
	return "grpc_service, grpc_method"
}

// methodLegend returns a Grafana legend that names a method of c's flavour.
func (c Config) methodLegend() string {
	if l := c.methodLabel(); l != "" {
		return "{{" + l + "}}"
	}
	return "{{grpc_service}}/{{grpc_method}}"
}

// methodTemplate returns an alert-annotation template that names the method
// of an alert of c's flavour.
func (c Config) methodTemplate() string {
	if l := c.methodLabel(); l != "" {
		return "{{ $labels." + l + " }}"
	}
	return "{{ $labels.grpc_service }}/{{ $labels.grpc_method }}"
}

// budget returns the error budget 1-Objective as PromQL text, rounded to 12
// significant digits so that 1-0.999 prints as 0.001.
func (c Config) budget() string {
	return formatFloat(1 - c.Objective)
}

// formatFloat formats f for PromQL with at most 12 significant digits.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', 12, 64)
}
