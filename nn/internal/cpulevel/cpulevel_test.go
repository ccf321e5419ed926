package cpulevel

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	x86, arm := Ladder("amd64"), Ladder("arm64")
	for _, tc := range []struct {
		asked  string
		have   Level
		ladder []Level
		want   Level
		note   string
	}{
		{"", AVX512, x86, AVX512, ""},
		{"avx2", AVX512, x86, AVX2, ""},
		{"GENERIC", AVX2, x86, Generic, ""},
		{"avx512", AVX2, x86, AVX2, "runs avx2 at most"},
		{"neon", AVX512, x86, AVX512, "not a level"},
		{"generic", NEON, arm, Generic, ""},
		{"avx2", NEON, arm, NEON, "use generic, neon"},
	} {
		got, note := choose(tc.asked, tc.have, tc.ladder)
		if got != tc.want || (tc.note == "") != (note == "") || !strings.Contains(note, tc.note) {
			t.Errorf("choose(%q, %v) = %v, %q; want %v, %q", tc.asked, tc.have, got, note, tc.want, tc.note)
		}
	}
}
