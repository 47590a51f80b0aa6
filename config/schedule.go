package config

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// DefaultCron is CRON_TIME_STRING's default in the seed image: 01:12 and
// 13:12 every day.
const DefaultCron = "12 01,13 * * *"

// searchDays bounds Schedule.Next: eight years and a day always include a
// 29 February (leap days are at most eight years apart), so only a
// schedule that can never match exhausts it.
const searchDays = 8*366 + 1

// Schedule is a parsed five-field cron expression: minute, hour,
// day-of-month, month and day-of-week, as in a crontab line without its
// command. The zero Schedule never matches.
//
// Each field accepts "*", a number or name, a range "a-b", a step "*/n" or
// "a-b/n", and comma-separated lists of these. Months may be written
// JAN–DEC and weekdays SUN–SAT (any case); day-of-week takes 0–7, where
// both 0 and 7 are Sunday, and a range may end on 7 or SUN ("FRI-SUN"). The
// macros @yearly (@annually), @monthly, @weekly, @daily (@midnight) and
// @hourly are accepted too.
//
// Day-of-month and day-of-week combine as in cron: when both are
// restricted, a day matching either one matches; otherwise both must
// match. A field is restricted when it does not cover every value, so
// "*/2" in day-of-week is restricted, as in busybox crond (the cron of
// Alpine, which the seed image is built on); Vixie cron looks at the
// leading "*" instead.
type Schedule struct {
	spec      string
	minute    uint64 // bit i: minute i (0–59)
	hour      uint64 // bit i: hour i (0–23)
	dom       uint64 // bit i: day i of the month (1–31)
	month     uint64 // bit i: month i (1–12)
	dow       uint64 // bit i: weekday i (0–6, Sunday = 0)
	domStrict bool   // day-of-month does not cover 1–31
	dowStrict bool   // day-of-week does not cover every weekday
}

// cronField describes one of the five fields.
type cronField struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i, if the field has names
}

var (
	minuteField = cronField{name: "minute", min: 0, max: 59}
	hourField   = cronField{name: "hour", min: 0, max: 23}
	domField    = cronField{name: "day-of-month", min: 1, max: 31}
	monthField  = cronField{name: "month", min: 1, max: 12,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	// Day-of-week parses 0–7; 7 is folded onto Sunday afterwards.
	dowField = cronField{name: "day-of-week", min: 0, max: 7,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

var cronMacros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

// ParseSchedule parses a five-field cron expression such as
// "12 01,13 * * *" (see Schedule). It refuses an expression that can never
// match, such as "0 0 30 2 *".
func ParseSchedule(s string) (*Schedule, error) {
	sched, err := parseSchedule(s)
	if err != nil {
		return nil, err
	}
	if !sched.possible() {
		return nil, fmt.Errorf("%q never matches: none of its months has any of its days of the month", sched.spec)
	}
	return sched, nil
}

// parseSchedule parses s without checking that it can ever match.
func parseSchedule(s string) (*Schedule, error) {
	fields := strings.Fields(s)
	spec := strings.Join(fields, " ")
	if len(fields) == 1 && strings.HasPrefix(fields[0], "@") {
		expanded, ok := cronMacros[strings.ToLower(fields[0])]
		if !ok {
			return nil, fmt.Errorf("%q is not a cron macro (@yearly, @monthly, @weekly, @daily or @hourly)", spec)
		}
		fields = strings.Fields(expanded)
	}
	if len(fields) != 5 {
		return nil, fmt.Errorf("%q has %d fields; a cron schedule has 5: minute hour day-of-month month day-of-week (e.g. %q)", spec, len(fields), DefaultCron)
	}
	sched := &Schedule{spec: spec}
	var errs []string
	for i, p := range []struct {
		f   cronField
		dst *uint64
	}{
		{minuteField, &sched.minute},
		{hourField, &sched.hour},
		{domField, &sched.dom},
		{monthField, &sched.month},
		{dowField, &sched.dow},
	} {
		set, err := p.f.parse(fields[i])
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		*p.dst = set
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%q: %s", spec, strings.Join(errs, "; "))
	}
	if sched.dow&(1<<7) != 0 {
		sched.dow = sched.dow&^(1<<7) | 1
	}
	sched.domStrict = sched.dom != domField.all()
	sched.dowStrict = sched.dow != 1<<7-1
	return sched, nil
}

// all is the set of every value of the field.
func (f cronField) all() uint64 {
	return (1<<(f.max+1) - 1) &^ (1<<f.min - 1)
}

// parse turns one field into a set of values, bit i for value i.
func (f cronField) parse(s string) (uint64, error) {
	var set uint64
	for item := range strings.SplitSeq(s, ",") {
		bits, err := f.parseItem(item)
		if err != nil {
			return 0, err
		}
		set |= bits
	}
	return set, nil
}

// parseItem parses "*", "v", "a-b", "*/n" or "a-b/n".
func (f cronField) parseItem(item string) (uint64, error) {
	if item == "" {
		return 0, fmt.Errorf("%s: empty list item", f.name)
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
		if f.name == dowField.name {
			hi = 6 // "*" is every weekday once; 7 would repeat Sunday
		}
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a); err != nil {
			return 0, err
		}
		if hi, err = f.value(b); err != nil {
			return 0, err
		}
		if f.name == dowField.name && hi == 0 && lo > 0 {
			hi = 7 // "FRI-SUN", "5-0": the range ends on Sunday
		}
		if lo > hi {
			return 0, fmt.Errorf("%s: range %q runs backwards", f.name, item)
		}
	default:
		if hasStep {
			return 0, fmt.Errorf("%s: step %q needs a range: write */%s or a-b/%s", f.name, item, stepText, stepText)
		}
		v, err := f.value(rng)
		if err != nil {
			return 0, err
		}
		lo, hi = v, v
	}
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 || n > f.max-f.min+1 {
			return 0, fmt.Errorf("%s: step %q is not a number from 1 to %d", f.name, stepText, f.max-f.min+1)
		}
		step = n
	}
	var set uint64
	for v := lo; v <= hi; v += step {
		set |= 1 << v
	}
	return set, nil
}

// value reads a number or a name within the field's bounds.
func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		if len(f.names) > 0 {
			return 0, fmt.Errorf("%s: %q is not a number from %d to %d or a name (%s–%s)", f.name, s, f.min, f.max,
				strings.ToUpper(f.names[0]), strings.ToUpper(f.names[len(f.names)-1]))
		}
		return 0, fmt.Errorf("%s: %q is not a number from %d to %d", f.name, s, f.min, f.max)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%s: %d is outside %d–%d", f.name, n, f.min, f.max)
	}
	return n, nil
}

// daysIn is the most days each month can have (February: 29).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// possible reports whether some day can ever match: a restricted
// day-of-week matches every week, otherwise some chosen day of the month
// must exist in some chosen month.
func (s *Schedule) possible() bool {
	if s.empty() {
		return false
	}
	if s.domStrict && s.dowStrict {
		return true
	}
	for m := 1; m <= 12; m++ {
		if s.month&(1<<m) != 0 && s.dom&(1<<(daysIn[m]+1)-1) != 0 {
			return true
		}
	}
	return false
}

// String returns the expression as parsed, with runs of white space
// collapsed to one space.
func (s *Schedule) String() string {
	if s == nil {
		return ""
	}
	return s.spec
}

// dayMatches applies cron's rule for day-of-month and day-of-week.
func (s *Schedule) dayMatches(day int, wd time.Weekday) bool {
	domOK := s.dom&(1<<day) != 0
	dowOK := s.dow&(1<<wd) != 0
	if s.domStrict && s.dowStrict {
		return domOK || dowOK
	}
	return domOK && dowOK
}

// dateMatches reports whether the calendar date of day matches.
func (s *Schedule) dateMatches(day time.Time) bool {
	return s.month&(1<<day.Month()) != 0 && s.dayMatches(day.Day(), day.Weekday())
}

// matches reports whether the wall clock of t, in t's location, matches.
func (s *Schedule) matches(t time.Time) bool {
	return s.dateMatches(t) && s.hour&(1<<t.Hour()) != 0 && s.minute&(1<<t.Minute()) != 0
}

// empty reports whether some field has no value, so nothing can match.
func (s *Schedule) empty() bool {
	return s == nil || s.minute == 0 || s.hour == 0 || s.dom == 0 || s.month == 0 || s.dow == 0
}

// Next returns the first minute strictly after after whose wall clock, in
// after's location, matches the schedule; the result is in that location.
// It returns the zero Time when nothing matches within eight years, which
// happens only for a schedule that never matches (ParseSchedule refuses
// those) or a zero or nil Schedule.
//
// Matching is by wall clock, minute by real minute, as busybox crond
// does: a time skipped when clocks go forward (02:30 on the last Sunday of
// March in Europe/Paris) does not happen that day, and a time repeated
// when clocks go back (02:30 on the last Sunday of October) happens twice,
// once at each UTC offset.
func (s *Schedule) Next(after time.Time) time.Time {
	if s.empty() {
		return time.Time{}
	}
	loc := after.Location()
	y, m, d := after.Date()
	// Start a day early: when clocks go back across midnight, wall times
	// of the previous date come around again after after.
	first := time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC)
	for i := range searchDays {
		day := first.AddDate(0, 0, i)
		if !s.dateMatches(day) {
			continue
		}
		t := s.firstOnDay(day, loc, after)
		if t.IsZero() {
			continue
		}
		// Only the following date can hold an earlier instant, when
		// clocks go back across midnight.
		if next := day.AddDate(0, 0, 1); s.dateMatches(next) {
			if u := s.firstOnDay(next, loc, after); !u.IsZero() && u.Before(t) {
				t = u
			}
		}
		return t
	}
	return time.Time{}
}

// UTC offsets stay within ±26 hours of the wall clock, historic local mean
// times included.
const offsetMargin = 26 * 60 * 60

// firstOnDay returns the earliest instant after after whose wall clock in
// loc is a matching time on the calendar date of day (given in UTC), or
// the zero Time. A wall time maps to zero, one or two instants: each zone
// period (a stretch with one UTC offset) that can hold the date is tried
// in order, and within one period instants follow wall-clock order.
func (s *Schedule) firstOnDay(day time.Time, loc *time.Location, after time.Time) time.Time {
	midnight := day.Unix() // the date's 00:00 as if it were UTC
	hi := midnight + 24*60*60 + offsetMargin
	for at := midnight - offsetMargin; at < hi; {
		local := time.Unix(at, 0).In(loc)
		_, offset := local.Zone()
		start, end := local.ZoneBounds()
		pStart, pEnd := int64(math.MinInt64), int64(math.MaxInt64)
		if !start.IsZero() {
			pStart = start.Unix()
		}
		if !end.IsZero() {
			pEnd = end.Unix()
		}
		if t := s.firstInPeriod(midnight-int64(offset), pStart, pEnd, after); !t.IsZero() {
			return t.In(loc)
		}
		if pEnd <= at {
			break
		}
		at = pEnd
	}
	return time.Time{}
}

// firstInPeriod returns the earliest instant base + a matching time of day
// that lies within [pStart, pEnd) and strictly after after, or the zero
// Time. base is the Unix time of the date's 00:00 at the period's offset.
func (s *Schedule) firstInPeriod(base, pStart, pEnd int64, after time.Time) time.Time {
	floor := max(pStart, after.Unix()+1) // whole seconds strictly after after
	for hours := s.hour; hours != 0; hours &= hours - 1 {
		h := int64(bits.TrailingZeros64(hours))
		for mins := s.minute; mins != 0; mins &= mins - 1 {
			inst := base + h*3600 + int64(bits.TrailingZeros64(mins))*60
			if inst >= pEnd {
				return time.Time{}
			}
			if inst >= floor {
				return time.Unix(inst, 0)
			}
		}
	}
	return time.Time{}
}
