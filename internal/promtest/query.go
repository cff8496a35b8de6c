package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Sample is one element of an instant vector: its labels and its value.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant query against the Prometheus server at base and
// returns its result, which must be an instant vector. An empty result is no
// error.
func Query(ctx context.Context, base, query string) ([]Sample, error) {
	var r struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	}
	if err := get(ctx, base+"/api/v1/query?query="+url.QueryEscape(query), "query "+query, &r); err != nil {
		return nil, err
	}
	if r.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", query, r.ResultType)
	}
	samples := make([]Sample, 0, len(r.Result))
	for _, res := range r.Result {
		if len(res.Value) != 2 {
			return nil, fmt.Errorf("query %s: value %v is not [time, value]", query, res.Value)
		}
		s, ok := res.Value[1].(string)
		if !ok {
			return nil, fmt.Errorf("query %s: value %v is not a string", query, res.Value[1])
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %q: %w", query, s, err)
		}
		samples = append(samples, Sample{Metric: res.Metric, Value: v})
	}
	return samples, nil
}

// QueryValue runs an instant query whose result has at most one sample and
// returns that sample's value as Prometheus formats it, or "" when the result
// is empty.
func QueryValue(ctx context.Context, base, query string) (string, error) {
	samples, err := Query(ctx, base, query)
	if err != nil {
		return "", err
	}
	switch len(samples) {
	case 0:
		return "", nil
	case 1:
		return strconv.FormatFloat(samples[0].Value, 'f', -1, 64), nil
	default:
		return "", fmt.Errorf("query %s: %d samples, want 1", query, len(samples))
	}
}

// Exemplar is one exemplar as /api/v1/query_exemplars returns it: the labels
// of the series it was scraped with and its own labels and value.
type Exemplar struct {
	Series map[string]string
	Labels map[string]string
	Value  float64
}

// QueryExemplars returns the exemplars that the Prometheus server at base
// holds for the series of query between start and end. A server started
// without [ExemplarStorage] answers with none.
func QueryExemplars(ctx context.Context, base, query string, start, end time.Time) ([]Exemplar, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	v.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	var r []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels map[string]string `json:"labels"`
			Value  string            `json:"value"`
		} `json:"exemplars"`
	}
	if err := get(ctx, base+"/api/v1/query_exemplars?"+v.Encode(), "exemplars of "+query, &r); err != nil {
		return nil, err
	}
	var out []Exemplar
	for _, s := range r {
		for _, e := range s.Exemplars {
			f, err := strconv.ParseFloat(e.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("exemplars of %s: value %q: %w", query, e.Value, err)
			}
			out = append(out, Exemplar{Series: s.SeriesLabels, Labels: e.Labels, Value: f})
		}
	}
	return out, nil
}

// Target is one of the targets a Prometheus server scrapes, as
// /api/v1/targets reports it.
type Target struct {
	ScrapeURL string `json:"scrapeUrl"`
	Health    string `json:"health"` // "up", "down" or "unknown"
	LastError string `json:"lastError"`
}

// Targets returns the active targets of the Prometheus server at base.
func Targets(ctx context.Context, base string) ([]Target, error) {
	var r struct {
		ActiveTargets []Target `json:"activeTargets"`
	}
	if err := get(ctx, base+"/api/v1/targets?state=active", "targets", &r); err != nil {
		return nil, err
	}
	return r.ActiveTargets, nil
}

// Metadata returns the type that the Prometheus server at base records
// for each metric it has scraped, by metric name ("counter", "gauge",
// "histogram", "unknown", …), from /api/v1/metadata.
func Metadata(ctx context.Context, base string) (map[string]string, error) {
	var r map[string][]struct {
		Type string `json:"type"`
	}
	if err := get(ctx, base+"/api/v1/metadata", "metadata", &r); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(r))
	for name, entries := range r {
		if len(entries) > 0 {
			out[name] = entries[0].Type
		}
	}
	return out, nil
}

// RuleGroup is one rule group a Prometheus server has loaded, as
// /api/v1/rules reports it: its name, the file it came from and the names
// of its rules (a recording rule's record, an alert's alert).
type RuleGroup struct {
	Name  string
	File  string
	Rules []string
}

// Rules returns the rule groups that the Prometheus server at base has
// loaded.
func Rules(ctx context.Context, base string) ([]RuleGroup, error) {
	var r struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name string `json:"name"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := get(ctx, base+"/api/v1/rules", "rules", &r); err != nil {
		return nil, err
	}
	out := make([]RuleGroup, 0, len(r.Groups))
	for _, g := range r.Groups {
		rg := RuleGroup{Name: g.Name, File: g.File}
		for _, rule := range g.Rules {
			rg.Rules = append(rg.Rules, rule.Name)
		}
		out = append(out, rg)
	}
	return out, nil
}

// get asks the Prometheus HTTP API for url and decodes the "data" of a
// successful answer into data; what names the request in errors.
func get(ctx context.Context, url, what string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, body)
	}
	r := struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   any    `json:"data"`
	}{Data: data}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("%s: decoding %s: %w", what, body, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: status %q: %s", what, r.Status, r.Error)
	}
	return nil
}
