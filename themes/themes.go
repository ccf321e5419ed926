// Package themes holds cellar's colour palettes and derives lipgloss styles from them
// for one renderer. Themes are data: every SSH session derives its own styles from its
// own renderer, so nothing here is mutable shared state.
package themes

import (
	"fmt"
	"sort"

	"github.com/charmbracelet/lipgloss"
)

// Theme is a palette.
type Theme struct {
	Name      string
	Text      lipgloss.Color
	Muted     lipgloss.Color
	Accent    lipgloss.Color
	Good      lipgloss.Color
	Bad       lipgloss.Color
	Warn      lipgloss.Color
	Border    lipgloss.Color
	HeaderBg  lipgloss.Color
	HeaderFg  lipgloss.Color
	Selection lipgloss.Color
}

// The built-in themes.
var (
	Dark = Theme{Name: "dark", Text: "252", Muted: "244", Accent: "111", Good: "114", Bad: "203", Warn: "221",
		Border: "238", HeaderBg: "24", HeaderFg: "255", Selection: "237"}
	Light = Theme{Name: "light", Text: "235", Muted: "243", Accent: "25", Good: "28", Bad: "160", Warn: "130",
		Border: "250", HeaderBg: "153", HeaderFg: "16", Selection: "254"}
)

var byName = map[string]Theme{Dark.Name: Dark, Light.Name: Light}

// Lookup returns a built-in theme by name.
func Lookup(name string) (Theme, error) {
	t, ok := byName[name]
	if !ok {
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		return Theme{}, fmt.Errorf("unknown theme %q (themes: %v)", name, names)
	}
	return t, nil
}

// Styles are a theme's styles for one renderer.
type Styles struct {
	Header, HeaderState       lipgloss.Style
	Title, Text, Muted, Label lipgloss.Style
	Good, Bad, Warn, Accent   lipgloss.Style
	Panel                     lipgloss.Style
	Selected                  lipgloss.Style
}

// For derives the theme's styles for a renderer (one per terminal or SSH session).
func (t Theme) For(r *lipgloss.Renderer) Styles {
	s := r.NewStyle
	return Styles{
		Header:      s().Foreground(t.HeaderFg).Background(t.HeaderBg).Bold(true).Padding(0, 1),
		HeaderState: s().Foreground(t.HeaderBg).Background(t.HeaderFg).Bold(true).Padding(0, 1),
		Title:       s().Foreground(t.Accent).Bold(true),
		Text:        s().Foreground(t.Text),
		Muted:       s().Foreground(t.Muted),
		Label:       s().Foreground(t.Muted).Bold(true),
		Good:        s().Foreground(t.Good),
		Bad:         s().Foreground(t.Bad),
		Warn:        s().Foreground(t.Warn),
		Accent:      s().Foreground(t.Accent),
		Panel:       s().Border(lipgloss.RoundedBorder()).BorderForeground(t.Border).Padding(0, 1),
		Selected:    s().Background(t.Selection).Bold(true),
	}
}
