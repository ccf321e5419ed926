package tui

import (
	"math"
	"strconv"
	"strings"
)

// human writes a number for a person: four significant digits, k/M/G for large
// magnitudes, never scientific notation, and never "-0" (a value that rounds to zero
// is 0).
func human(v float64) string {
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

// yLabel and xLabel are the charts' axis labels: values for a person, and trial ids
// (whole numbers) on the x axis.
func yLabel(_ int, v float64) string { return human(v) }

func xLabel(_ int, v float64) string { return strconv.Itoa(int(math.Round(v))) }
