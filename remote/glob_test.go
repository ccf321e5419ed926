package remote

import "testing"

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"/usr/bin/python3 /srv/train.py *", "/usr/bin/python3 /srv/train.py --data /x/y", true},
		{"/usr/bin/python3 /srv/train.py *", "/usr/bin/python3 /srv/train.py", false},
		{"/usr/bin/python3 /srv/train.py*", "/usr/bin/python3 /srv/train.py", true},
		{"/usr/bin/python3 /srv/train.py", "/usr/bin/python3 /srv/train.py; rm -rf /", false},
		{"*/train.sh", "/tmp/a/train.sh", true},
		{"*/train.sh", "/tmp/a/train.sh --evil", false},
		{"/bin/sh -c *", "/bin/bash -c x", false},
		{"a*b*c", "abcc", true},
		{"a*b*c", "acb", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
