// Package cpulevel says which of nn's kernels this CPU runs: on x86-64, AVX-512 or
// AVX2 with FMA; on arm64, NEON; elsewhere (and when held there) the generic Go and
// BLAS code. CELLAR_CPU=avx512|avx2|neon|generic forces a lower path than the CPU
// allows, so each path can be tested and measured on one machine; a path the CPU lacks
// is never taken (asking for it gives the best the CPU has, and Note says so).
package cpulevel

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/cpu"
)

// Level is a set of kernels.
type Level string

const (
	Generic Level = "generic" // Go loops and a BLAS: every CPU
	AVX2    Level = "avx2"    // AVX2 and FMA (x86 since Haswell, 2013)
	AVX512  Level = "avx512"  // AVX-512 F, DQ and VL (Skylake-SP and later, Zen 4)
	NEON    Level = "neon"    // arm64's Advanced SIMD (every arm64 CPU)
)

// Ladder is the levels of an architecture, lowest first: each runs on the CPUs of
// the ones after it.
func Ladder(arch string) []Level {
	switch arch {
	case "amd64":
		return []Level{Generic, AVX2, AVX512}
	case "arm64":
		return []Level{Generic, NEON}
	}
	return []Level{Generic}
}

// AtLeast says whether l is l2 or above it on this architecture's ladder.
func (l Level) AtLeast(l2 Level) bool {
	ladder := Ladder(runtime.GOARCH)
	i, j := slices.Index(ladder, l), slices.Index(ladder, l2)
	return i >= 0 && j >= 0 && i >= j
}

// Env is the variable that forces a level.
const Env = "CELLAR_CPU"

// Current is the level nn uses; Note says why when it is not the one asked for.
var Current, Note = choose(os.Getenv(Env), Detect(), Ladder(runtime.GOARCH))

// Detect is the best level this CPU (and its OS, which must save the registers; x/sys/cpu
// checks both) runs.
func Detect() Level {
	switch {
	case runtime.GOARCH == "arm64":
		return NEON
	case runtime.GOARCH != "amd64":
		return Generic
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL:
		return AVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return AVX2
	}
	return Generic
}

// choose is the level for the value of CELLAR_CPU on a CPU that runs have, of the
// levels of ladder.
func choose(asked string, have Level, ladder []Level) (Level, string) {
	if asked == "" {
		return have, ""
	}
	l := Level(strings.ToLower(asked))
	at := slices.Index(ladder, l)
	switch {
	case at < 0:
		names := make([]string, len(ladder))
		for i, x := range ladder {
			names[i] = string(x)
		}
		return have, fmt.Sprintf("%s=%s: not a level of this CPU's architecture; use %s", Env, asked, strings.Join(names, ", "))
	case at > slices.Index(ladder, have):
		return have, fmt.Sprintf("%s=%s: this CPU runs %s at most", Env, asked, have)
	}
	return l, ""
}
