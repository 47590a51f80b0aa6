package ops

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A small checker of the text exposition format, written for these tests:
// it parses every line and enforces what Prometheus needs plus what
// certdock promises (stable order).

var (
	// sampleLine is the shape every sample line must have. It is stricter
	// than the format (a label value may contain "}"), which is fine for
	// the values these tests use.
	sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// key identifies a series: its name and its labels in order of name.
func (s sample) key() string { return s.name + labelKey(s.labels, "") }

// labelKey renders labels in order of name, leaving out skip.
func labelKey(labels map[string]string, skip string) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(labels)) {
		if n != skip {
			parts = append(parts, fmt.Sprintf("%s=%q", n, labels[n]))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

type exposition struct {
	families []string // in order of appearance
	types    map[string]string
	help     map[string]string
	samples  []sample
}

// find returns the value of the series name{labels}.
func (x exposition) find(name string, labels map[string]string) (float64, bool) {
	want := sample{name: name, labels: labels}.key()
	for _, s := range x.samples {
		if s.key() == want {
			return s.value, true
		}
	}
	return 0, false
}

// series returns the samples of one name.
func (x exposition) series(name string) []sample {
	var out []sample
	for _, s := range x.samples {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// reporter is the part of *testing.T the checker uses, so that the
// checker can be tested too.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// failures records what the checker reports.
type failures struct{ msgs []string }

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// parseExposition checks text line by line and returns what it holds.
func parseExposition(t reporter, text string) exposition {
	t.Helper()
	x := exposition{types: map[string]string{}, help: map[string]string{}}
	if text == "" {
		return x
	}
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end with a line feed")
	}
	seen := map[string]bool{}
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if rest, ok := strings.CutPrefix(line, "# "); ok {
			kind, rest, _ := strings.Cut(rest, " ")
			name, arg, _ := strings.Cut(rest, " ")
			switch kind {
			case "HELP":
				if _, dup := x.help[name]; dup {
					t.Errorf("line %d: second HELP for %s", n, name)
				}
				x.help[name] = arg
			case "TYPE":
				if _, dup := x.types[name]; dup {
					t.Errorf("line %d: second TYPE for %s", n, name)
				}
				switch arg {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					t.Errorf("line %d: unknown type %q", n, arg)
				}
				x.types[name] = arg
			default:
				t.Errorf("line %d: unexpected comment %q", n, line)
				continue
			}
			if name != current {
				if slices.Contains(x.families, name) {
					t.Errorf("line %d: family %s split in two", n, name)
				}
				x.families = append(x.families, name)
				current = name
			}
			continue
		}
		if !sampleLine.MatchString(line) {
			t.Errorf("line %d: not a sample line: %q", n, line)
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			t.Errorf("line %d: %v: %q", n, err, line)
			continue
		}
		fam := s.name
		if _, ok := x.types[fam]; !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(s.name, suffix); ok && x.types[base] == "histogram" {
					fam = base
				}
			}
		}
		if fam != current || x.types[fam] == "" || x.help[fam] == "" {
			t.Errorf("line %d: sample of %s outside its family (after HELP and TYPE)", n, s.name)
		}
		if seen[s.key()] {
			t.Errorf("line %d: duplicate series %s", n, s.key())
		}
		seen[s.key()] = true
		x.samples = append(x.samples, s)
	}
	for name := range x.types {
		if _, ok := x.help[name]; !ok {
			t.Errorf("%s has TYPE but no HELP", name)
		}
	}
	for name := range x.help {
		if _, ok := x.types[name]; !ok {
			t.Errorf("%s has HELP but no TYPE", name)
		}
	}
	for name, typ := range x.types {
		if typ == "histogram" {
			checkHistogram(t, x, name)
		}
	}
	return x
}

// parseSample parses a line already matching sampleLine, decoding label
// values.
func parseSample(line string) (sample, error) {
	sp := strings.LastIndexByte(line, ' ')
	head, val := line[:sp], line[sp+1:]
	v, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return sample{}, fmt.Errorf("value: %w", err)
	}
	s := sample{name: head, labels: map[string]string{}, value: v}
	open := strings.IndexByte(head, '{')
	if open < 0 {
		return s, nil
	}
	s.name = head[:open]
	body := head[open+1 : len(head)-1]
	for body != "" {
		eq := strings.IndexByte(body, '=')
		if eq < 0 {
			return sample{}, fmt.Errorf("label without '='")
		}
		name := body[:eq]
		if !labelName.MatchString(name) {
			return sample{}, fmt.Errorf("bad label name %q", name)
		}
		if _, dup := s.labels[name]; dup {
			return sample{}, fmt.Errorf("label %s twice", name)
		}
		rest := body[eq+1:]
		if !strings.HasPrefix(rest, `"`) {
			return sample{}, fmt.Errorf("label %s: value not quoted", name)
		}
		var b strings.Builder
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] != '\\' {
				b.WriteByte(rest[i])
				continue
			}
			i++
			if i == len(rest) {
				return sample{}, fmt.Errorf("label %s: dangling backslash", name)
			}
			switch rest[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return sample{}, fmt.Errorf("label %s: unknown escape \\%c", name, rest[i])
			}
		}
		if i == len(rest) {
			return sample{}, fmt.Errorf("label %s: unterminated value", name)
		}
		s.labels[name] = b.String()
		body = rest[i+1:]
		if body != "" {
			var ok bool
			if body, ok = strings.CutPrefix(body, ","); !ok || body == "" {
				return sample{}, fmt.Errorf("expected ',' and another label after %s", name)
			}
		}
	}
	return s, nil
}

// checkHistogram checks every series of a histogram: buckets in ascending
// le, cumulative, ending with +Inf equal to _count, and a _sum.
func checkHistogram(t reporter, x exposition, name string) {
	t.Helper()
	type series struct {
		les, counts []float64
		sum, count  *float64
	}
	all := map[string]*series{}
	get := func(k string) *series {
		if all[k] == nil {
			all[k] = &series{}
		}
		return all[k]
	}
	for _, s := range x.samples {
		switch s.name {
		case name + "_bucket":
			le, ok := s.labels["le"]
			if !ok {
				t.Errorf("%s: bucket without le", s.key())
				continue
			}
			v, err := strconv.ParseFloat(le, 64)
			if err != nil {
				t.Errorf("%s: le: %v", s.key(), err)
				continue
			}
			h := get(labelKey(s.labels, "le"))
			h.les = append(h.les, v)
			h.counts = append(h.counts, s.value)
		case name + "_sum":
			get(labelKey(s.labels, "")).sum = &s.value
		case name + "_count":
			get(labelKey(s.labels, "")).count = &s.value
		case name:
			t.Errorf("histogram %s has a plain sample", name)
		}
	}
	for k, h := range all {
		if h.sum == nil || h.count == nil || len(h.les) == 0 {
			t.Errorf("%s%s: needs buckets, _sum and _count", name, k)
			continue
		}
		for i := 1; i < len(h.les); i++ {
			if h.les[i] <= h.les[i-1] {
				t.Errorf("%s%s: le %v after %v", name, k, h.les[i], h.les[i-1])
			}
			if h.counts[i] < h.counts[i-1] {
				t.Errorf("%s%s: bucket le=%v holds %v < %v: not cumulative", name, k, h.les[i], h.counts[i], h.counts[i-1])
			}
		}
		last := len(h.les) - 1
		if !math.IsInf(h.les[last], +1) {
			t.Errorf("%s%s: last bucket le=%v, want +Inf", name, k, h.les[last])
		}
		if h.counts[last] != *h.count {
			t.Errorf("%s%s: +Inf bucket %v != _count %v", name, k, h.counts[last], *h.count)
		}
	}
}

// TestChecker makes sure the checker itself rejects broken expositions.
func TestChecker(t *testing.T) {
	bad := []struct{ name, text string }{
		{"no TYPE", "# HELP a x\na 1\n"},
		{"no HELP", "# TYPE a gauge\na 1\n"},
		{"TYPE twice", "# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n"},
		{"bad value", "# HELP a x\n# TYPE a gauge\na one\n"},
		{"unquoted label", "# HELP a x\n# TYPE a gauge\na{b=c} 1\n"},
		{"bad escape", "# HELP a x\n# TYPE a gauge\na{b=\"\\t\"} 1\n"},
		{"outside family", "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\n"},
		{"duplicate series", "# HELP a x\n# TYPE a gauge\na{b=\"1\"} 1\na{b=\"1\"} 2\n"},
		{"not cumulative", "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"},
		{"no +Inf", "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"},
		{"+Inf != count", "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n"},
		{"missing line feed", "# HELP a x\n# TYPE a gauge\na 1"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := &failures{}
			done := make(chan struct{})
			go func() { // Fatalf ends the goroutine
				defer close(done)
				parseExposition(f, tt.text)
			}()
			<-done
			if len(f.msgs) == 0 {
				t.Errorf("accepted:\n%s", tt.text)
			}
		})
	}
}

func TestFormatFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{1735689600, "1735689600"},
		{0.1, "0.1"},
		{0.0025, "0.0025"},
		{2.5, "2.5"},
		{1e-05, "1e-05"},
		{1e20, "1e+20"},
		{math.Inf(+1), "+Inf"},
		{math.Inf(-1), "-Inf"},
		{math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		if got := formatFloat(tt.in); got != tt.want {
			t.Errorf("formatFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
