package mixin

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/grpcmetrics/grpcmetrics/internal/contract"
)

// contractSets returns the sets of the label contract whose families c's
// queries read: the flavour's own, and the provider's client families,
// which every dashboard's outgoing panels read.
func (c Config) contractSets() []string {
	switch c.Flavour {
	case Milvus:
		return []string{"milvus", "provider-client"}
	case Milvus26:
		line := c.Milvus26Line
		if line == "" {
			line = Milvus26V2616
		}
		return []string{"milvus26/" + line, "provider-client"}
	case A66:
		return []string{"a66", "provider-client"}
	}
	return []string{"provider-server", "provider-client"}
}

// checkContract refuses exprs, c's queries, when one matches a label of a
// contract family on a value that the family's set never writes, such as
// status="fail_input" on Milvus 2.6's counters, or asks for a label that
// the family does not have, such as cause on v2.6.16's: a query that would
// find nothing, and an alert that would never fire. Values the contract leaves
// open (method and collection names) and values with a template variable
// are not checked, nor regular expressions other than alternations of
// literal values.
func (c Config) checkContract(exprs []string) error {
	ct, err := contract.Load()
	if err != nil {
		return fmt.Errorf("mixin: %w", err)
	}
	families := map[string][]contract.Family{}
	for _, name := range c.contractSets() {
		set, ok := ct.Set(name)
		if !ok {
			return fmt.Errorf("mixin: the label contract has no set %q", name)
		}
		for _, f := range set.Families {
			families[f.Name] = append(families[f.Name], f)
		}
	}
	// A metric's selector (its name and the body of its braces), one label
	// matcher in a body, and a regular expression that is literal values
	// joined by "|", which the check reads value by value.
	promSelector := regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}`)
	promMatcher := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	promAlternation := regexp.MustCompile(`^[a-zA-Z0-9_.-]*(\|[a-zA-Z0-9_.-]*)*$`)
	var errs []error
	for _, expr := range exprs {
		for _, sel := range promSelector.FindAllStringSubmatch(expr, -1) {
			fams := familiesOf(families, sel[1])
			for _, m := range promMatcher.FindAllStringSubmatch(sel[2], -1) {
				label, op, value := m[1], m[2], m[3]
				if len(fams) > 0 && (op == "=" || op == "=~") && value != "" && !c.hasLabel(fams, label) {
					errs = append(errs, fmt.Errorf("mixin: %s: %s matches %s%s%q, a label that no set writes on it (%s); query: %s",
						c.Name(), sel[1], label, op, value, strings.Join(c.contractSets(), ", "), expr))
					continue
				}
				var domain []string
				for _, f := range fams {
					domain = append(domain, f.Domains[label]...)
				}
				if domain == nil || strings.Contains(value, "$") {
					continue
				}
				values := []string{value}
				if op == "=~" || op == "!~" {
					if !promAlternation.MatchString(value) {
						continue
					}
					values = strings.Split(value, "|")
				}
				for _, v := range values {
					if !slices.Contains(domain, v) {
						errs = append(errs, fmt.Errorf("mixin: %s: %s matches %s%s%q, a value that no set writes (%s: %q); query: %s",
							c.Name(), sel[1], label, op, v, strings.Join(c.contractSets(), ", "), domain, expr))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// hasLabel reports whether a series of one of fams can carry label: one of
// the families' labels or optional labels, a label that Prometheus adds
// (job, instance), a histogram's le, or one of c's context labels.
func (c Config) hasLabel(fams []contract.Family, label string) bool {
	if label == "job" || label == "instance" || label == "le" || slices.Contains(c.ContextLabels, label) {
		return true
	}
	for _, f := range fams {
		if _, ok := f.OptionalLabels[label]; ok || slices.Contains(f.Labels, label) {
			return true
		}
	}
	return false
}

// familiesOf returns the families that a selector of name reads: name's,
// or for a histogram's series (_bucket, _sum, _count) the histogram's.
func familiesOf(families map[string][]contract.Family, name string) []contract.Family {
	if fs, ok := families[name]; ok {
		return fs
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return families[base]
		}
	}
	return nil
}
