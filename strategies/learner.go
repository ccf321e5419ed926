package strategies

import (
	"cellar/nn"
)

// softmax of each row.
func softmax(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, row := range rows {
		out[i] = nn.Softmax(row)
	}
	return out
}
