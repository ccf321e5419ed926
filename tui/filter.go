package tui

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cellar/engine"
)

// term is one condition of a trial filter: a field, a comparison and a value.
type term struct {
	field, op, value string
	num              float64
	isNum            bool
}

var filterOps = []string{">=", "<=", "!=", ">", "<", "="}

// filterFields are the fields every trial has; metrics come on top.
var filterFields = []string{"id", "parent", "seconds", "state", "origin"}

// spacedOp finds a comparison written with spaces around it ("val_accuracy > 80").
// Its spaces are unicode.IsSpace's, the ones strings.Fields splits words on (RE2's \s
// lacks \v and the Unicode spaces): were they fewer, a comparison after a vertical tab
// would start a word of its own, and the filter written back would read differently.
var spacedOp = regexp.MustCompile(`[\t\n\v\f\r\x{85}\p{Z}]*(>=|<=|!=|>|<|=)[\t\n\v\f\r\x{85}\p{Z}]*`)

// parseFilter reads space-separated conditions such as "val_accuracy>90 origin=hand
// state!=failed" (spaces around the comparison are fine). Fields: id, parent, seconds,
// state, origin, or a metric among metrics; a field of neither is an error naming
// them (with metrics nil, any metric is taken).
func parseFilter(s string, metrics []string) ([]term, error) {
	var terms []term
	s = spacedOp.ReplaceAllString(s, "$1")
	for _, word := range strings.Fields(s) {
		var t term
		for _, op := range filterOps {
			if i := strings.Index(word, op); i > 0 {
				t = term{field: word[:i], op: op, value: word[i+len(op):]}
				break
			}
		}
		if t.op == "" || t.value == "" {
			return nil, fmt.Errorf("%q: write field, comparison, value (e.g. val_accuracy>90, origin=hand)", word)
		}
		if v, err := strconv.ParseFloat(t.value, 64); err == nil {
			t.num, t.isNum = v, true
		}
		if metrics != nil && !slices.Contains(filterFields, t.field) && !slices.Contains(metrics, t.field) {
			known := append(slices.Clone(filterFields), metrics...)
			return nil, fmt.Errorf("%q: no field %s (fields: %s)", word, t.field, strings.Join(known, ", "))
		}
		switch t.field {
		case "state", "origin":
			if t.op != "=" && t.op != "!=" {
				return nil, fmt.Errorf("%q: %s takes = or !=", word, t.field)
			}
		default:
			if !t.isNum {
				return nil, fmt.Errorf("%q: %s compares with a number", word, t.field)
			}
		}
		terms = append(terms, t)
	}
	return terms, nil
}

// matches says whether a trial meets every condition; a metric it lacks fails it.
func matches(t engine.Trial, terms []term) bool {
	for _, c := range terms {
		var v float64
		switch c.field {
		case "state", "origin":
			got := t.Status() // stopped, for a trial stopped early
			if c.field == "origin" {
				got = t.Origin
			}
			if (got == c.value) != (c.op == "=") {
				return false
			}
			continue
		case "id":
			v = float64(t.ID)
		case "parent":
			v = float64(t.Parent)
		case "seconds":
			v = t.Duration().Seconds()
		default:
			m, ok := t.Metrics[c.field]
			if !ok {
				return false
			}
			v = m
		}
		ok := map[string]bool{">=": v >= c.num, "<=": v <= c.num, "!=": v != c.num, ">": v > c.num, "<": v < c.num, "=": v == c.num}[c.op]
		if !ok {
			return false
		}
	}
	return true
}
