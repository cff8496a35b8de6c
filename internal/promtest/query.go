package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query %s: HTTP %d: %s", query, resp.StatusCode, body)
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: decoding %s: %w", query, body, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: status %q: %s", query, r.Status, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: result type %q, want vector", query, r.Data.ResultType)
	}
	samples := make([]Sample, 0, len(r.Data.Result))
	for _, res := range r.Data.Result {
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
