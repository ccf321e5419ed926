package spaces

import (
	"strconv"
	"strings"
)

// The NAS-Bench-201 string form, shared by the nb201 and cell spaces: nodes separated
// by "+", each node a run of "|op~input|" edges, e.g. |conv~0|+|skip~0|none~1|.

// edgeTok is one "op~input" edge as read, with positions for error messages.
type edgeTok struct {
	op     string
	opPos  int
	input  int
	inPos  int
	inText string
}

// parseCellString reads s into nodes of edges. base is the byte offset of s within the
// whole input, so errors point into what the user typed. Op names and input ranges are
// checked by the caller, which knows the space.
func parseCellString(space, s string, base int) ([][]edgeTok, error) {
	perr := func(pos int, tok, msg string) error {
		return &ParseError{Space: space, Pos: base + pos, Token: tok, Msg: msg}
	}
	if s == "" {
		return nil, perr(0, "", "empty; expected a cell such as |op~0|+|op~0|op~1|")
	}
	var nodes [][]edgeTok
	pos := 0
	for _, group := range strings.Split(s, "+") {
		if len(group) < 2 || group[0] != '|' || group[len(group)-1] != '|' {
			return nil, perr(pos, group, "a node must be written |op~input|...| between '+' signs")
		}
		var edges []edgeTok
		p := pos + 1
		for _, e := range strings.Split(group[1:len(group)-1], "|") {
			op, in, ok := strings.Cut(e, "~")
			if !ok || op == "" || in == "" {
				return nil, perr(p, e, "an edge must be op~input, e.g. nor_conv_3x3~0")
			}
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 || strconv.Itoa(n) != in {
				return nil, perr(p+len(op)+1, in, "input must be a node number such as 0")
			}
			edges = append(edges, edgeTok{op: op, opPos: base + p, input: n, inPos: base + p + len(op) + 1, inText: in})
			p += len(e) + 1
		}
		nodes = append(nodes, edges)
		pos += len(group) + 1
	}
	return nodes, nil
}

// writeCellString prints nodes in the same form; ops[i][j] and inputs[i][j] are the
// j-th edge of node i.
func writeCellString(sb *strings.Builder, ops [][]string, inputs [][]int) {
	for i := range ops {
		if i > 0 {
			sb.WriteByte('+')
		}
		sb.WriteByte('|')
		for j := range ops[i] {
			sb.WriteString(ops[i][j])
			sb.WriteByte('~')
			sb.WriteString(strconv.Itoa(inputs[i][j]))
			sb.WriteByte('|')
		}
	}
}
