package cpulevel

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		asked string
		have  Level
		want  Level
		note  string
	}{
		{"", AVX512, AVX512, ""},
		{"avx2", AVX512, AVX2, ""},
		{"GENERIC", AVX2, Generic, ""},
		{"avx512", AVX2, AVX2, "runs avx2 at most"},
		{"neon", AVX512, AVX512, "unknown"},
	} {
		got, note := choose(tc.asked, tc.have)
		if got != tc.want || (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("choose(%q, %v) = %v, %q; want %v, %q", tc.asked, tc.have, got, note, tc.want, tc.note)
		}
	}
}
