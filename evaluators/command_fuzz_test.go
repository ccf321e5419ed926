package evaluators

import (
	"bytes"
	"math"
	"testing"
	"time"
)

// The trainer protocol's reader, fed anything in any chunks: it never panics, keeps
// every line and the log within their bounds and the curve within maxCurve, and
// takes a report only of finite numbers.
func FuzzCommandOutput(f *testing.F) {
	f.Add([]byte("{\"epoch\": 1, \"metrics\": {\"val_accuracy\": 3}}\nlog\n{\"metrics\": {\"val_accuracy\": 4}}"), uint8(7))
	f.Add([]byte("{\"metrics\": {\"val_accuracy\": null}}\n"), uint8(1))
	f.Add([]byte("{\"metrics\": {\"val_accuracy\": NaN}}\n{\"epoch\": 2}\n\r\n"), uint8(3))
	f.Add(bytes.Repeat([]byte("x"), 70000), uint8(255))
	f.Fuzz(func(t *testing.T, out []byte, chunk uint8) {
		c := &Command{}
		c.metric = "val_accuracy"
		r := &commandRun{c: c, start: time.Now(), ended: make(chan struct{})}
		step := int(chunk) + 1
		for i := 0; i < len(out); i += step {
			if n, err := r.write(out[i:min(i+step, len(out))]); err != nil || n != min(step, len(out)-i) {
				t.Fatalf("write: %d, %v", n, err)
			}
		}
		r.line(r.partial)
		if len(r.partial) > maxLine+step {
			t.Errorf("%d bytes held for one line", len(r.partial))
		}
		total := 0
		for _, l := range r.log {
			total += len(l)
			if len(l) > maxLine+len(cutMark) {
				t.Errorf("a log line of %d bytes", len(l))
			}
		}
		if len(r.log) > logLines || (total > maxLogBytes && len(r.log) > 1) {
			t.Errorf("log of %d lines, %d bytes", len(r.log), total)
		}
		if len(r.curve) > maxCurve {
			t.Errorf("a curve of %d points", len(r.curve))
		}
		for _, m := range append([]map[string]float64{r.final}, curveMetrics(r)...) {
			for k, v := range m {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("metric %s = %v taken", k, v)
				}
			}
		}
	})
}

func curveMetrics(r *commandRun) []map[string]float64 {
	var out []map[string]float64
	for _, p := range r.curve {
		out = append(out, p.Metrics)
	}
	return out
}
