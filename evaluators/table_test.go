package evaluators_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/spaces"
)

func TestBadTables(t *testing.T) {
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	const a0 = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	const a1 = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	for _, tc := range []struct{ name, content, say string }{
		{"empty", "", "empty file"},
		{"no arch column", "name,acc\n" + a0 + ",1\n", `no "arch" column`},
		{"no metric column", "arch\n" + a0 + "\n", "no metric columns"},
		{"duplicate arch", "arch,acc\n" + a0 + ",1\n" + a1 + ",2\n" + a0 + ",3\n", "line 4: arch " + a0 + " is also on line 2"},
		{"bad arch", "arch,acc\n" + a0 + ",1\n|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n", "line 3: nb201 arch: token \"conv\""},
		{"bad number", "arch,acc\n" + a0 + ",high\n", `line 2 column acc: "high" is not a finite number`},
		{"nan", "arch,acc\n" + a0 + ",NaN\n", "not a finite number"},
		{"ragged", "arch,acc\n" + a0 + ",1,2\n", "wrong number of fields"},
		{"header only", "arch,acc\n", "no rows"},
		{"duplicate column", "arch,acc,acc\n" + a0 + ",1,2\n", `column "acc" appears twice in the header (columns 2 and 3)`},
	} {
		_, err := evaluators.LoadTable(testtable.Write(t, tc.content), nb, "")
		if err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: error %v; want it to say %q", tc.name, err, tc.say)
		}
	}
	if _, err := evaluators.LoadTable(filepath.Join(t.TempDir(), "missing.csv"), nb, ""); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing table: %v", err)
	}
}

func TestTableWithByteOrderMark(t *testing.T) {
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	const a0 = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	tb, err := evaluators.LoadTable(testtable.Write(t, "\uFEFFarch,acc\r\n"+a0+",7\r\n"), nb, "")
	if err != nil {
		t.Fatalf("a table saved by a spreadsheet (BOM, CRLF): %v", err)
	}
	out, err := tb.Evaluate(context.Background(), engine.Job{Arch: mustParse(t, nb, a0)}, nil)
	if err != nil || out.Metrics["acc"] != 7 {
		t.Fatalf("got %v %v, want acc 7", out.Metrics, err)
	}
}

func mustParse(t *testing.T, sp spaces.Space, s string) spaces.Arch {
	t.Helper()
	a, err := sp.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func FuzzReadTable(f *testing.F) {
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	const a0 = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
	f.Add("arch,acc\n" + a0 + ",1\n")
	f.Add("\uFEFFarch,acc,params\r\n" + a0 + ",1,2\r\n")
	f.Add("arch,acc,acc\n")
	f.Add("\"arch\",acc\n\"" + a0 + "\",1e3\n")
	f.Fuzz(func(t *testing.T, src string) {
		tb, err := evaluators.ReadTable(strings.NewReader(src), "fuzz.csv", nb, "")
		if err != nil {
			return
		}
		// A table that loads answers for its own archs.
		for _, a := range tb.Archs() {
			if _, err := tb.Evaluate(context.Background(), engine.Job{Arch: mustParse(t, nb, a)}, nil); err != nil {
				t.Fatalf("arch %s of the table: %v", a, err)
			}
		}
	})
}
