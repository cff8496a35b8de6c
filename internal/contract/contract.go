package contract

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// File is the contract's path, relative to the module's root.
const File = "internal/contract/contract.json"

//go:embed contract.json
var contractJSON []byte

// Contract is the families of every metric set.
type Contract struct {
	Sets []Set `json:"sets"`
}

// Set is one metric set (one release line, for Milvus 2.6's) and the
// families it writes.
type Set struct {
	// Name names the set: "milvus", "provider-server", "provider-client",
	// "a66", "milvus26/v2.6.16", "milvus26/v2.6.20", "milvus26/v2.6.21" or
	// "milvus26-rootcoord".
	Name string `json:"set"`
	// Title says what the set is, for readers.
	Title    string   `json:"title"`
	Families []Family `json:"families"`
}

// Family is one metric family of a set.
type Family struct {
	Name string `json:"name"`
	// Type is "counter", "gauge" or "histogram".
	Type string `json:"type"`
	Help string `json:"help"`
	// Option is the option that turns the family on, "" when the set
	// always writes it.
	Option string `json:"option,omitempty"`
	// Labels are the family's label names, sorted.
	Labels []string `json:"labels"`
	// OptionalLabels are labels that an option adds, after Labels: label
	// name → option.
	OptionalLabels map[string]string `json:"optional_labels,omitempty"`
	// Domains are the closed domains of the labels whose values the set
	// chooses: label name → every value it writes, sorted. The other
	// labels carry names the servers and the requests bring (methods,
	// collections, clients).
	Domains map[string][]string `json:"domains,omitempty"`
}

// Load returns the checked-in contract.
func Load() (Contract, error) {
	var c Contract
	dec := json.NewDecoder(bytes.NewReader(contractJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Contract{}, fmt.Errorf("contract: %s: %w", File, err)
	}
	return c, nil
}

// Marshal returns c as the contract file holds it: indented JSON with a
// final newline.
func (c Contract) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Set returns the set named name.
func (c Contract) Set(name string) (Set, bool) {
	i := slices.IndexFunc(c.Sets, func(s Set) bool { return s.Name == name })
	if i < 0 {
		return Set{}, false
	}
	return c.Sets[i], true
}

// Family returns the family named name.
func (s Set) Family(name string) (Family, bool) {
	i := slices.IndexFunc(s.Families, func(f Family) bool { return f.Name == name })
	if i < 0 {
		return Family{}, false
	}
	return s.Families[i], true
}

// Check returns every way in which the gathered families mfs of set s
// break the contract: a family s does not list, or of another type or
// help; a series with other label names than the family's (its Labels,
// with any of its OptionalLabels); a label value outside its domain.
// Nil means that mfs keep to it.
func (s Set) Check(mfs []*dto.MetricFamily) []error {
	var errs []error
	for _, mf := range mfs {
		f, ok := s.Family(mf.GetName())
		if !ok {
			errs = append(errs, fmt.Errorf("%s: writes family %s, which the contract lacks", s.Name, mf.GetName()))
			continue
		}
		if typ := typeName(mf.GetType()); typ != f.Type {
			errs = append(errs, fmt.Errorf("%s: %s is a %s, the contract says %s", s.Name, f.Name, typ, f.Type))
		}
		if mf.GetHelp() != f.Help {
			errs = append(errs, fmt.Errorf("%s: %s has help %q, the contract says %q", s.Name, f.Name, mf.GetHelp(), f.Help))
		}
		for _, m := range mf.GetMetric() {
			errs = append(errs, f.checkSeries(s.Name, m)...)
		}
	}
	return errs
}

// checkSeries checks the labels of one series of f.
func (f Family) checkSeries(set string, m *dto.Metric) []error {
	var errs []error
	var names []string
	for _, lp := range m.GetLabel() {
		names = append(names, lp.GetName())
		if d, ok := f.Domains[lp.GetName()]; ok && !slices.Contains(d, lp.GetValue()) {
			errs = append(errs, fmt.Errorf("%s: %s writes %s=%q, which the contract lacks (domain %q)", set, f.Name, lp.GetName(), lp.GetValue(), d))
		}
	}
	if !f.allows(names) {
		errs = append(errs, fmt.Errorf("%s: %s writes labels {%s}, the contract says {%s}", set, f.Name, strings.Join(names, ", "), strings.Join(f.Labels, ", ")))
	}
	return errs
}

// allows reports whether a series with label names (in any order) is one
// of f's: its Labels, each once, and some of its OptionalLabels.
func (f Family) allows(names []string) bool {
	seen := map[string]bool{}
	for _, n := range names {
		_, optional := f.OptionalLabels[n]
		if seen[n] || (!slices.Contains(f.Labels, n) && !optional) {
			return false
		}
		seen[n] = true
	}
	for _, n := range f.Labels {
		if !seen[n] {
			return false
		}
	}
	return true
}

// typeName names a family's type as the contract does.
func typeName(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return "counter"
	case dto.MetricType_GAUGE:
		return "gauge"
	case dto.MetricType_HISTOGRAM:
		return "histogram"
	}
	return strings.ToLower(t.String())
}
