package ops

import (
	"bytes"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The Prometheus text format, version 0.0.4: per metric family a
// "# HELP name text" and a "# TYPE name type" line, then one
// `name{label="value",...} value` line per sample.

// ContentType is the media type of the exposition written by
// Metrics.WriteTo.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// label is one label pair of a sample.
type label struct{ name, value string }

// expo writes exposition lines into a buffer.
type expo struct{ b *bytes.Buffer }

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	valueEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// header writes the HELP and TYPE lines of a family.
func (e expo) header(name, typ, help string) {
	e.b.WriteString("# HELP ")
	e.b.WriteString(name)
	e.b.WriteByte(' ')
	e.b.WriteString(helpEscaper.Replace(strings.ToValidUTF8(help, "\uFFFD")))
	e.b.WriteString("\n# TYPE ")
	e.b.WriteString(name)
	e.b.WriteByte(' ')
	e.b.WriteString(typ)
	e.b.WriteByte('\n')
}

// sample writes one sample line. Label values are escaped (backslash,
// double quote, line feed) and made valid UTF-8.
func (e expo) sample(name string, labels []label, v float64) {
	e.b.WriteString(name)
	if len(labels) > 0 {
		e.b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				e.b.WriteByte(',')
			}
			e.b.WriteString(l.name)
			e.b.WriteString(`="`)
			e.b.WriteString(valueEscaper.Replace(strings.ToValidUTF8(l.value, "\uFFFD")))
			e.b.WriteByte('"')
		}
		e.b.WriteByte('}')
	}
	e.b.WriteByte(' ')
	e.b.WriteString(formatFloat(v))
	e.b.WriteByte('\n')
}

// formatFloat writes integers (timestamps, counts) without an exponent and
// other values in Go's shortest round-trip form; infinities as +Inf/-Inf.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, +1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// histogram counts observations into fixed buckets; upper bounds are
// inclusive (le) and the +Inf bucket is implicit.
type histogram struct {
	bounds []float64 // ascending
	counts []uint64  // per bucket, not cumulative; the last one is +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// observe adds one value.
func (h *histogram) observe(v float64) {
	h.counts[sort.SearchFloat64s(h.bounds, v)]++
	h.sum += v
	h.count++
}

// write writes the cumulative _bucket samples, then _sum and _count, with
// labels in front of le.
func (h *histogram) write(e expo, name string, labels []label) {
	var cum uint64
	withLE := append(labels[:len(labels):len(labels)], label{name: "le"})
	for i, c := range h.counts {
		cum += c
		le := math.Inf(+1)
		if i < len(h.bounds) {
			le = h.bounds[i]
		}
		withLE[len(withLE)-1].value = formatFloat(le)
		e.sample(name+"_bucket", withLE, float64(cum))
	}
	e.sample(name+"_sum", labels, h.sum)
	e.sample(name+"_count", labels, float64(h.count))
}
