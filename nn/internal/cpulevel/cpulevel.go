// Package cpulevel says which of nn's kernels this CPU runs: AVX-512, AVX2 with FMA,
// or the generic Go and BLAS code. CELLAR_CPU=avx512|avx2|generic forces a lower path
// than the CPU allows, so each path can be tested and measured on one machine; a path
// the CPU lacks is never taken (asking for it gives the best the CPU has, and Note says
// so).
package cpulevel

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// Level is a set of kernels, each level running on the CPUs of the ones above it.
type Level int

const (
	Generic Level = iota // Go loops and a BLAS: every CPU
	AVX2                 // AVX2 and FMA (x86 since Haswell, 2013)
	AVX512               // AVX-512 F, DQ and VL (Skylake-SP and later, Zen 4)
)

func (l Level) String() string { return [...]string{"generic", "avx2", "avx512"}[l] }

// Env is the variable that forces a level.
const Env = "CELLAR_CPU"

// Current is the level nn uses; Note says why when it is not the one asked for.
var Current, Note = choose(os.Getenv(Env), Detect())

// Detect is the best level this CPU (and its OS, which must save the registers; x/sys/cpu
// checks both) runs.
func Detect() Level {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL:
		return AVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return AVX2
	}
	return Generic
}

// choose is the level for the value of CELLAR_CPU on a CPU that runs have.
func choose(asked string, have Level) (Level, string) {
	if asked == "" {
		return have, ""
	}
	for l := Generic; l <= AVX512; l++ {
		if strings.EqualFold(asked, l.String()) {
			if l > have {
				return have, fmt.Sprintf("%s=%s: this CPU runs %s at most", Env, asked, have)
			}
			return l, ""
		}
	}
	return have, fmt.Sprintf("%s=%s: unknown; use avx512, avx2 or generic", Env, asked)
}
