package num

import "testing"

// Numbers for a person: four significant digits, k/M suffixes, no scientific
// notation, no "-0".
func TestHuman(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", -0.0000001: "0", -14188: "-14.19k", 760762: "760.8k", 1531546: "1.532M", 5.5e6: "5.5M",
		91.234: "91.23", 18.7: "18.7", 0.5: "0.5", 2.25: "2.25", 7.34e15: "7340T", 999.99: "1k", 1000: "1k",
		-0.00004: "0", 3: "3", 73306: "73.31k",
	} {
		if got := Human(v); got != want {
			t.Errorf("Human(%v) = %q, want %q", v, got, want)
		}
	}
}

// Numbers in full for tables: whole numbers whole, six significant digits, never an
// exponent.
func TestPlain(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1531546: "1531546", 5.5e6: "5500000", 93.373333: "93.3733", 0.000123456: "0.000123456",
		-2.5: "-2.5", 1e-12: "0", 1234567.89: "1234568", 0.1: "0.1", 94.3733: "94.3733", 1e20: "100000000000000000000",
	} {
		if got := Plain(v); got != want {
			t.Errorf("Plain(%v) = %q, want %q", v, got, want)
		}
	}
}
