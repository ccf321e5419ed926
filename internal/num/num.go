// Package num writes numbers for people: the TUI's charts and tables and the CLI's
// tables share it, so a value reads the same everywhere and never in scientific
// notation.
package num

import (
	"math"
	"strconv"
	"strings"
)

// Human writes a number for a person: four significant digits, k/M/G for large
// magnitudes, never scientific notation, and never "-0" (a value that rounds to zero
// is 0).
func Human(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	a := math.Abs(v)
	suffix := ""
	for _, s := range []struct {
		div float64
		s   string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= s.div*0.99995 {
			v, a, suffix = v/s.div, a/s.div, s.s
			break
		}
	}
	decimals := 0
	switch {
	case a == 0:
	case a < 0.0001:
		return "0"
	case a < 1:
		decimals = 4
	case a < 10:
		decimals = 3
	case a < 100:
		decimals = 2
	case a < 1000:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s + suffix
}

// Plain writes a number in full for a table a person reads and a script may parse:
// whole numbers as they are, others with six significant digits (more after the
// point for small values, up to ten), trailing zeros dropped; never an exponent.
func Plain(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	a := math.Abs(v)
	decimals := 10
	if a >= 1 {
		decimals = max(6-int(math.Floor(math.Log10(a)))-1, 0)
	} else if a > 0 {
		decimals = min(6-int(math.Floor(math.Log10(a)))-1, 10)
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
