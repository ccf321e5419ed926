// Package serve serves the workbench over SSH: one running search, any number of
// sessions, each with its own view and a role taken from the key it logged in with.
package serve

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// Role is what a session may do.
type Role string

const (
	// Viewer watches the search and browses trials.
	Viewer Role = "viewer"
	// Operator may also pause, resume, edit and queue hand trials, and stop the search.
	Operator Role = "operator"
)

// Key is one authorized public key and its role.
type Key struct {
	Key     gossh.PublicKey
	Role    Role
	Comment string
	Line    int
}

// Keys is an authorized_keys file with a role on every key.
type Keys []Key

// LoadKeys reads an authorized_keys-format file in which every key carries a role
// as its option, `role=viewer` or `role=operator`:
//
//	role=operator ssh-ed25519 AAAAC3Nz... alice@laptop
//	role=viewer ssh-rsa AAAAB3Nz... bob
//
// Blank lines and # comments are skipped. A key without a role, an unknown role or
// option, or a line that is not a key is an error naming the file and line: a typo
// must not quietly let someone in, or lock everyone out.
func LoadKeys(path string) (Keys, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	return ParseKeys(raw, path)
}

// ParseKeys reads a keys file's contents as LoadKeys does; path names it in errors.
// A key listed twice is refused, naming both lines: with two roles, which one holds
// would be a guess (appending role=viewer must not leave an operator in place), and
// with one, the second line is a mistake the user should see. A UTF-8 byte order mark,
// as some Windows editors write, is skipped.
func ParseKeys(raw []byte, path string) (Keys, error) {
	var keys Keys
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKeyLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		k.Line = n
		if first, twice := keys.Lookup(k.Key); twice {
			return nil, fmt.Errorf("%s:%d: key %s is listed again (first at line %d, as %s; here as %s): keep one line per key",
				path, n, gossh.FingerprintSHA256(k.Key), first.Line, first.Role, k.Role)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys: add lines such as `role=operator ssh-ed25519 AAAA... you@host`", path)
	}
	return keys, nil
}

func parseKeyLine(line string) (Key, error) {
	pub, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return Key{}, fmt.Errorf("not a public key: %v", err)
	}
	k := Key{Key: pub, Comment: comment}
	for _, o := range options {
		name, value, _ := strings.Cut(o, "=")
		if name != "role" {
			return Key{}, fmt.Errorf("unknown option %q (only role=viewer or role=operator)", o)
		}
		switch r := Role(strings.Trim(value, `"`)); r {
		case Viewer, Operator:
			k.Role = r
		default:
			return Key{}, fmt.Errorf("unknown role %q: viewer or operator", value)
		}
	}
	if k.Role == "" {
		return Key{}, fmt.Errorf("key %s has no role: start the line with role=viewer or role=operator", gossh.FingerprintSHA256(pub))
	}
	return k, nil
}

// Lookup returns the role of key, and false for a key not in the file.
func (ks Keys) Lookup(key gossh.PublicKey) (Key, bool) {
	if key == nil {
		return Key{}, false
	}
	m := key.Marshal()
	for _, k := range ks {
		if bytes.Equal(k.Key.Marshal(), m) {
			return k, true
		}
	}
	return Key{}, false
}
