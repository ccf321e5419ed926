package engine

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"cellar/internal/suggest"
)

// strict checks what node n gives to a value of type t, at every level: a key the
// type does not have is an error naming its full path ("strategy.warm_start.proxi"),
// its line, and the nearest key the type has; a fraction given to an integer (which
// yaml.v3 would truncate without a word: `population: 30.7` to 30) is an error
// naming the key. path is the key path so far. Components and types that decode
// themselves are checked when their options are decoded (Component.Decode).
func strict(n *yaml.Node, t reflect.Type, path string) error {
	return checker{}.check(n, t, path)
}

// checker is strict's walk. At the top level, skip is a key that belongs to the
// caller (a component's name) and label names the level in errors ("strategy
// regevo").
type checker struct{ skip, label string }

func (ck checker) check(n *yaml.Node, t reflect.Type, path string) error {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(time.Duration(0)) || (path != "" && decodesItself(t)) {
		return nil
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!int" && n.ShortTag() != "!!null" {
			return &KeyError{n.Line, path, n.Value + " is not a whole number"}
		}
	case reflect.Struct:
		if n.Kind == yaml.MappingNode {
			return ck.fields(n, t, path)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				if err := strict(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := strict(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fields checks a mapping given to struct type t: every key one of its fields.
func (ck checker) fields(n *yaml.Node, t reflect.Type, path string) error {
	fields := fieldTypes(t)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Value == ck.skip && ck.skip != "" {
			continue
		}
		ft, ok := fields[k.Value]
		if !ok {
			return unknownKey(k, path, ck.label, fields)
		}
		if err := strict(n.Content[i+1], ft, join(path, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

// KeyError is a config error at a key: it names the key's full path and line, so
// callers pass it on as it is.
type KeyError struct {
	Line int
	Path string
	Msg  string
}

func (e *KeyError) Error() string { return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg) }

// within says which part of the config err is about, unless it names its key itself.
func within(part string, err error) error {
	var ke *KeyError
	if errors.As(err, &ke) {
		return err
	}
	return fmt.Errorf("%s: %w", part, err)
}

var unmarshaler = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// decodesItself says values of t read their own YAML (a Component, a rung).
func decodesItself(t reflect.Type) bool {
	return t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler)
}

// unknownKey is the error for key k at path, which has the keys of fields; label
// names the level, when it is more than its path.
func unknownKey(k *yaml.Node, path, label string, fields map[string]reflect.Type) error {
	if label == "" {
		label = orTop(path)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	where := join(path, k.Value)
	if len(names) == 0 {
		return &KeyError{k.Line, where, fmt.Sprintf("unknown key (%s takes no options)", label)}
	}
	hint := ""
	if near := suggest.Nearest(k.Value, names); near != "" {
		hint = fmt.Sprintf("; did you mean %s?", near)
	}
	return &KeyError{k.Line, where, fmt.Sprintf("unknown key%s (%s takes: %s)", hint, label, strings.Join(names, ", "))}
}

func orTop(path string) string {
	if path == "" {
		return "the experiment"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldTypes maps a struct's yaml keys to their field types, following inline
// embeddings.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			for k, v := range fieldTypes(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}
