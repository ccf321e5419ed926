package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func TestLoadKeys(t *testing.T) {
	op, vw, other := newSigner(t), newSigner(t), newSigner(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("# team\n\n"+authorizedLine("operator", op, "alice")+`role="viewer" `+strings.TrimPrefix(authorizedLine("viewer", vw, "bob"), "role=viewer ")), 0o600)
	keys, err := LoadKeys(good)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := keys.Lookup(op.PublicKey()); !ok || k.Role != Operator || k.Comment != "alice" || k.Line != 3 {
		t.Errorf("operator key: %+v %v", k, ok)
	}
	if k, ok := keys.Lookup(vw.PublicKey()); !ok || k.Role != Viewer {
		t.Errorf("viewer key: %+v %v", k, ok)
	}
	if _, ok := keys.Lookup(other.PublicKey()); ok {
		t.Error("an unlisted key was found")
	}
	if _, ok := keys.Lookup(nil); ok {
		t.Error("no key was found")
	}
	line := strings.TrimPrefix(authorizedLine("viewer", vw, "bob"), "role=viewer ")
	for _, tc := range []struct{ text, want string }{
		{line, "bad:1: key SHA256:"},                          // no role
		{"role=admin " + line, `bad:1: unknown role "admin"`}, // unknown role
		{"no-pty,role=viewer " + line, `bad:1: unknown option "no-pty"`},
		{"# only a comment\nrole=viewer ssh-ed25519 AAAAnotbase64\n", "bad:2: not a public key"},
		{"\n# nothing\n", "no keys"},
		// One key twice with two roles: the appended viewer line must not leave an
		// operator in, nor be ignored; once with one role is a mistake too.
		{authorizedLine("operator", vw, "bob") + "# demoted\n" + authorizedLine("viewer", vw, "bob"),
			"bad:3: key " + gossh.FingerprintSHA256(vw.PublicKey()) + " is listed again (first at line 1, as operator; here as viewer)"},
		{authorizedLine("viewer", vw, "bob") + authorizedLine("viewer", vw, "bob again"), "bad:2: key SHA256:"},
	} {
		bad := filepath.Join(dir, "bad")
		os.WriteFile(bad, []byte(tc.text), 0o600)
		if _, err := LoadKeys(bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.text, err, tc.want)
		}
	}
	// A file an editor saved with a UTF-8 byte order mark reads as without one.
	bom := filepath.Join(dir, "bom")
	os.WriteFile(bom, []byte("\xef\xbb\xbf"+authorizedLine("operator", op, "alice")), 0o600)
	if keys, err := LoadKeys(bom); err != nil || len(keys) != 1 || keys[0].Role != Operator {
		t.Errorf("a keys file with a byte order mark: %v %+v", err, keys)
	}
	if _, err := LoadKeys(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseKeys(f *testing.F) {
	s := newSigner(f)
	f.Add([]byte(authorizedLine("operator", s, "alice")))
	f.Add([]byte("# c\n\nrole=viewer,role=operator " + strings.TrimPrefix(authorizedLine("viewer", s, "x"), "role=viewer ")))
	f.Add([]byte("role=viewer ssh-ed25519 AAAA\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		keys, err := ParseKeys(raw, "fuzz")
		if err != nil {
			return
		}
		// Every key read has a role, and is found again by itself.
		for _, k := range keys {
			if k.Role != Operator && k.Role != Viewer {
				t.Fatalf("key on line %d has role %q", k.Line, k.Role)
			}
			if _, ok := keys.Lookup(k.Key); !ok {
				t.Fatalf("key on line %d is not found by Lookup", k.Line)
			}
		}
	})
}
