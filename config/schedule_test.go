package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		str     string // String(); spec when empty
		match   []string
		noMatch []string // "2006-01-02 15:04" in UTC
		wantErr string
	}{
		{name: "seed default", spec: "12 01,13 * * *",
			match:   []string{"2026-01-01 01:12", "2026-07-14 13:12"},
			noMatch: []string{"2026-01-01 01:13", "2026-01-01 12:12", "2026-01-01 00:12"}},
		{name: "extra white space", spec: "  12\t01,13 *  * *\n", str: "12 01,13 * * *", match: []string{"2026-01-01 13:12"}},
		{name: "every minute", spec: "* * * * *", match: []string{"2026-02-28 23:59", "2028-02-29 00:00"}},
		{name: "steps", spec: "*/15 0-12/6 * * *", match: []string{"2026-01-01 00:45", "2026-01-01 12:30"}, noMatch: []string{"2026-01-01 03:15", "2026-01-01 18:00", "2026-01-01 06:10"}},
		{name: "range and list", spec: "0,30 8-10 * * *", match: []string{"2026-01-01 09:30"}, noMatch: []string{"2026-01-01 11:00"}},
		{name: "month names", spec: "0 0 1 jan,Jul-SEP *", match: []string{"2026-01-01 00:00", "2026-08-01 00:00"}, noMatch: []string{"2026-06-01 00:00"}},
		{name: "weekday names", spec: "0 9 * * MON-FRI", match: []string{"2026-01-02 09:00"}, noMatch: []string{"2026-01-03 09:00", "2026-01-04 09:00"}},
		{name: "sunday as 7", spec: "0 9 * * 7", match: []string{"2026-01-04 09:00"}, noMatch: []string{"2026-01-05 09:00"}},
		{name: "sunday as 0", spec: "0 9 * * 0", match: []string{"2026-01-04 09:00"}},
		{name: "range ending on 7", spec: "0 9 * * 5-7", match: []string{"2026-01-02 09:00", "2026-01-03 09:00", "2026-01-04 09:00"}, noMatch: []string{"2026-01-05 09:00"}},
		{name: "range ending on SUN", spec: "0 9 * * fri-sun", match: []string{"2026-01-04 09:00"}, noMatch: []string{"2026-01-01 09:00"}},
		{name: "weekday step", spec: "0 0 * * */2", match: []string{"2026-01-04 00:00", "2026-01-06 00:00", "2026-01-10 00:00"}, noMatch: []string{"2026-01-05 00:00"}},
		// Both day fields restricted: either matches (13 Jan 2026 is a Tuesday, 2 Jan a Friday).
		{name: "day of month or weekday", spec: "0 0 13 * FRI", match: []string{"2026-01-13 00:00", "2026-01-02 00:00"}, noMatch: []string{"2026-01-14 00:00"}},
		// Only one restricted: it alone decides.
		{name: "day of month only", spec: "0 0 13 * *", match: []string{"2026-01-13 00:00"}, noMatch: []string{"2026-01-02 00:00"}},
		{name: "full weekday range is unrestricted", spec: "0 0 13 * 0-7", match: []string{"2026-01-13 00:00"}, noMatch: []string{"2026-01-02 00:00"}},
		{name: "weekday step restricts", spec: "0 0 13 * */2", match: []string{"2026-01-13 00:00", "2026-01-04 00:00"}, noMatch: []string{"2026-01-05 00:00"}},
		{name: "february 29", spec: "0 0 29 2 *", match: []string{"2028-02-29 00:00"}},
		{name: "macro", spec: "@daily", match: []string{"2026-05-05 00:00"}, noMatch: []string{"2026-05-05 00:01"}},
		{name: "macro hourly", spec: "@HOURLY", match: []string{"2026-05-05 07:00"}},

		{name: "empty", spec: "", wantErr: `"" has 0 fields; a cron schedule has 5`},
		{name: "six fields", spec: "0 12 01,13 * * *", wantErr: `has 6 fields`},
		{name: "four fields", spec: "12 01,13 * *", wantErr: `has 4 fields`},
		{name: "minute too big", spec: "60 * * * *", wantErr: `minute: 60 is outside 0–59`},
		{name: "hour too big", spec: "0 24 * * *", wantErr: `hour: 24 is outside 0–23`},
		{name: "day zero", spec: "0 0 0 * *", wantErr: `day-of-month: 0 is outside 1–31`},
		{name: "month 13", spec: "0 0 1 13 *", wantErr: `month: 13 is outside 1–12`},
		{name: "weekday 8", spec: "0 0 * * 8", wantErr: `day-of-week: 8 is outside 0–7`},
		{name: "bad name", spec: "0 0 * * MONDAY", wantErr: `day-of-week: "MONDAY" is not a number from 0 to 7 or a name (SUN–SAT)`},
		{name: "name in the wrong field", spec: "0 0 * MON *", wantErr: `month: "MON" is not a number`},
		{name: "backwards range", spec: "0 5-2 * * *", wantErr: `hour: range "5-2" runs backwards`},
		{name: "step zero", spec: "*/0 * * * *", wantErr: `minute: step "0" is not a number from 1 to 60`},
		{name: "step too big", spec: "*/61 * * * *", wantErr: `minute: step "61"`},
		{name: "step without range", spec: "5/10 * * * *", wantErr: `minute: step "5/10" needs a range`},
		{name: "empty list item", spec: "1,,2 * * * *", wantErr: `minute: empty list item`},
		{name: "signed number", spec: "+5 * * * *", wantErr: `minute: "+5" is not a number`},
		{name: "half range", spec: "5- * * * *", wantErr: `minute: "" is not a number`},
		{name: "question mark", spec: "0 0 ? * *", wantErr: `day-of-month: "?" is not a number`},
		{name: "every field reported", spec: "60 24 0 13 8", wantErr: `minute: 60 is outside 0–59; hour: 24 is outside 0–23; day-of-month`},
		{name: "unknown macro", spec: "@reboot", wantErr: `"@reboot" is not a cron macro`},
		{name: "february 30", spec: "0 0 30 2 *", wantErr: `"0 0 30 2 *" never matches`},
		{name: "april 31", spec: "0 0 31 4,6,9,11 *", wantErr: `never matches`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSchedule(%q) = %v, %v; want error containing %q", tt.spec, s, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			str := tt.str
			if str == "" {
				str = tt.spec
			}
			if s.String() != str {
				t.Errorf("String() = %q, want %q", s, str)
			}
			for _, m := range tt.match {
				if at, _ := time.Parse("2006-01-02 15:04", m); !s.matches(at) {
					t.Errorf("%s does not match %s", s, m)
				}
			}
			for _, m := range tt.noMatch {
				if at, _ := time.Parse("2006-01-02 15:04", m); s.matches(at) {
					t.Errorf("%s matches %s", s, m)
				}
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	saoPaulo := mustLoad(t, "America/Sao_Paulo")
	lordHowe := mustLoad(t, "Australia/Lord_Howe")
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04:05 -0700", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		spec  string
		loc   *time.Location
		after string // "2006-01-02 15:04:05 -0700", read in loc
		want  string // same format, in loc; empty for the zero Time
	}{
		{name: "seed default", spec: DefaultCron, loc: time.UTC, after: "2026-01-01 00:00:00 +0000", want: "2026-01-01 01:12:00 +0000"},
		{name: "strictly after", spec: DefaultCron, loc: time.UTC, after: "2026-01-01 01:12:00 +0000", want: "2026-01-01 13:12:00 +0000"},
		{name: "seconds truncated", spec: DefaultCron, loc: time.UTC, after: "2026-01-01 01:11:59 +0000", want: "2026-01-01 01:12:00 +0000"},
		{name: "next day", spec: DefaultCron, loc: time.UTC, after: "2026-12-31 13:12:30 +0000", want: "2027-01-01 01:12:00 +0000"},
		{name: "every 15 minutes", spec: "*/15 * * * *", loc: time.UTC, after: "2026-01-01 10:07:59 +0000", want: "2026-01-01 10:15:00 +0000"},
		{name: "weekdays skip weekend", spec: "0 9 * * MON-FRI", loc: time.UTC, after: "2026-01-02 09:00:00 +0000", want: "2026-01-05 09:00:00 +0000"},
		{name: "leap day", spec: "0 0 29 2 *", loc: time.UTC, after: "2026-03-01 00:00:00 +0000", want: "2028-02-29 00:00:00 +0000"},
		{name: "leap day across 2100", spec: "0 0 29 2 *", loc: time.UTC, after: "2096-03-01 00:00:00 +0000", want: "2104-02-29 00:00:00 +0000"},
		{name: "31st skips short months", spec: "0 0 31 * *", loc: time.UTC, after: "2026-04-01 00:00:00 +0000", want: "2026-05-31 00:00:00 +0000"},
		{name: "day or weekday", spec: "0 0 13 * FRI", loc: time.UTC, after: "2026-01-03 00:00:00 +0000", want: "2026-01-09 00:00:00 +0000"},
		{name: "yearly", spec: "@yearly", loc: time.UTC, after: "2026-01-01 00:00:00 +0000", want: "2027-01-01 00:00:00 +0000"},
		{name: "in the caller's zone", spec: DefaultCron, loc: paris, after: "2026-01-01 00:00:00 +0100", want: "2026-01-01 01:12:00 +0100"},

		// Europe/Paris, 29 March 2026: 02:00 CET becomes 03:00 CEST.
		{name: "paris spring: seed default", spec: DefaultCron, loc: paris, after: "2026-03-29 01:12:00 +0100", want: "2026-03-29 13:12:00 +0200"},
		{name: "paris spring: skipped time does not happen", spec: "30 2 * * *", loc: paris, after: "2026-03-28 03:00:00 +0100", want: "2026-03-30 02:30:00 +0200"},
		{name: "paris spring: skipped hour", spec: "*/30 * * * *", loc: paris, after: "2026-03-29 01:45:00 +0100", want: "2026-03-29 03:00:00 +0200"},
		{name: "paris spring: hour after", spec: "0 3 * * *", loc: paris, after: "2026-03-29 01:59:00 +0100", want: "2026-03-29 03:00:00 +0200"},
		// Europe/Paris, 25 October 2026: 03:00 CEST becomes 02:00 CET.
		{name: "paris autumn: first 02:30", spec: "30 2 * * *", loc: paris, after: "2026-10-25 00:00:00 +0200", want: "2026-10-25 02:30:00 +0200"},
		{name: "paris autumn: second 02:30", spec: "30 2 * * *", loc: paris, after: "2026-10-25 02:30:00 +0200", want: "2026-10-25 02:30:00 +0100"},
		{name: "paris autumn: then the next day", spec: "30 2 * * *", loc: paris, after: "2026-10-25 02:30:00 +0100", want: "2026-10-26 02:30:00 +0100"},
		{name: "paris autumn: hourly", spec: "0 * * * *", loc: paris, after: "2026-10-25 02:00:00 +0200", want: "2026-10-25 02:00:00 +0100"},
		{name: "paris autumn: earlier minute of the repeated hour", spec: "10,50 2 * * *", loc: paris, after: "2026-10-25 02:50:00 +0200", want: "2026-10-25 02:10:00 +0100"},
		{name: "paris autumn: seed default", spec: DefaultCron, loc: paris, after: "2026-10-25 01:12:00 +0200", want: "2026-10-25 13:12:00 +0100"},
		// America/Sao_Paulo, 17 February 2019: 00:00 -02 became 23:00 -03 on the 16th.
		{name: "clock back across midnight", spec: "30 23 * * *", loc: saoPaulo, after: "2019-02-16 23:45:00 -0200", want: "2019-02-16 23:30:00 -0300"},
		// America/Sao_Paulo, 4 November 2018: midnight did not exist.
		{name: "skipped midnight", spec: "0 0 * * *", loc: saoPaulo, after: "2018-11-03 12:00:00 -0300", want: "2018-11-05 00:00:00 -0200"},
		{name: "after skipped midnight", spec: "0 1 * * *", loc: saoPaulo, after: "2018-11-03 12:00:00 -0300", want: "2018-11-04 01:00:00 -0200"},
		// Australia/Lord_Howe, 5 April 2026: 02:00 +11 becomes 01:30 +1030.
		{name: "half-hour shift", spec: "45 1 * * *", loc: lordHowe, after: "2026-04-05 01:50:00 +1100", want: "2026-04-05 01:45:00 +1030"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			after := at(tt.loc, tt.after)
			got := s.Next(after)
			if tt.want == "" {
				if !got.IsZero() {
					t.Errorf("Next(%v) = %v, want zero", after, got)
				}
				return
			}
			want := at(tt.loc, tt.want)
			if !got.Equal(want) || got.Location() != tt.loc {
				t.Errorf("Next(%v) = %v, want %v", after, got, want)
			}
			if err := checkScan(s, after, got, 10*24*60); err != "" {
				t.Error(err)
			}
		})
	}
}

// naiveNext scans minute by minute, at most limit minutes, for the first
// instant after after whose wall clock matches; zero if none. It assumes
// UTC offsets in whole minutes.
func naiveNext(s *Schedule, after time.Time, limit int) time.Time {
	t := after.Truncate(time.Minute)
	for range limit {
		t = t.Add(time.Minute)
		if s.matches(t) {
			return t
		}
	}
	return time.Time{}
}

// checkScan compares Next's answer got with a scan of limit minutes: the
// same instant, or nothing in the window. It returns a message or "".
func checkScan(s *Schedule, after, got time.Time, limit int) string {
	naive := naiveNext(s, after, limit)
	switch {
	case naive.IsZero() && !got.IsZero() && got.Before(after.Add(time.Duration(limit)*time.Minute)):
		return fmt.Sprintf("%q: Next(%v) = %v, but a scan finds nothing before %v", s, after, got, after.Add(time.Duration(limit)*time.Minute))
	case !naive.IsZero() && !naive.Equal(got):
		return fmt.Sprintf("%q: Next(%v) = %v, but a scan finds %v", s, after, got, naive)
	}
	return ""
}

func TestScheduleNextAgreesWithScan(t *testing.T) {
	specs := []string{DefaultCron, "*/7 * * * *", "0 0 * * *", "30 2 * * *", "0,30 1-3 * * *",
		"59 23 * * *", "0 0 1,15 * MON", "5 4 * * SUN", "0 */3 * * 1-5", "15 0 * 3,10 *"}
	zones := []string{"UTC", "Europe/Paris", "America/Sao_Paulo", "America/Havana", "Australia/Lord_Howe", "Pacific/Apia", "America/St_Johns"}
	starts := []string{"2011-12-29T08:00:00Z", "2018-11-03T01:00:00Z", "2019-02-16T20:00:00Z", "2026-03-28T22:00:00Z",
		"2026-10-24T23:30:00Z", "2026-04-04T13:00:00Z", "2026-03-07T10:00:00Z", "2026-11-01T01:00:00Z"}
	for _, spec := range specs {
		s, err := ParseSchedule(spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, z := range zones {
			loc := mustLoad(t, z)
			for _, st := range starts {
				start, _ := time.Parse(time.RFC3339, st)
				after := start.In(loc)
				// Follow the schedule for a few steps past the transition.
				for range 6 {
					got := s.Next(after)
					if err := checkScan(s, after, got, 3*24*60); err != "" {
						t.Fatalf("in %s: %s", z, err)
					}
					if got.IsZero() {
						break
					}
					after = got
				}
			}
		}
	}
}

func TestScheduleNextNeverMatches(t *testing.T) {
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"} {
		s, err := parseSchedule(spec)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if got := s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); !got.IsZero() {
			t.Errorf("%q: Next = %v, want zero", spec, got)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%q: Next took %v", spec, d)
		}
	}
	var zero Schedule
	if got := zero.Next(time.Now()); !got.IsZero() {
		t.Errorf("zero Schedule: Next = %v", got)
	}
	var nilSchedule *Schedule
	if got := nilSchedule.Next(time.Now()); !got.IsZero() || nilSchedule.String() != "" {
		t.Errorf("nil Schedule: Next = %v, String = %q", got, nilSchedule.String())
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, seed := range []string{
		DefaultCron, "* * * * *", "*/15 0-12/6 * * *", "0 9 * * MON-FRI", "0 0 13 * FRI",
		"0 0 29 2 *", "0 0 30 2 *", "0 9 * * fri-sun", "@weekly", "5/10 * * * *", "1,,2 * * * *",
		"0 0 31 4,6,9,11 *", "59 23 31 12 7", "0-59/59 0-23/23 1-31/30 1-12/11 0-7/7",
	} {
		f.Add(seed, int64(1774740000), uint8(1))
	}
	zones := []*time.Location{time.UTC, mustLoad(f, "Europe/Paris"), mustLoad(f, "America/Sao_Paulo"), mustLoad(f, "Australia/Lord_Howe")}
	f.Fuzz(func(t *testing.T, spec string, unix int64, zone uint8) {
		s, err := ParseSchedule(spec)
		if err != nil {
			if s != nil {
				t.Fatalf("ParseSchedule(%q) returned %v with error %v", spec, s, err)
			}
			return
		}
		again, err := ParseSchedule(s.String())
		if err != nil || *again != *s {
			t.Fatalf("String() %q does not parse back to the same schedule: %v", s, err)
		}
		// 1970 to 2100: zones there have whole-minute offsets.
		unix = unix % (130 * 365 * 24 * 3600)
		if unix < 0 {
			unix = -unix
		}
		after := time.Unix(unix, 0).In(zones[int(zone)%len(zones)])
		next := s.Next(after)
		if next.IsZero() {
			t.Fatalf("%q can match but Next(%v) is zero", spec, after)
		}
		if !next.After(after) {
			t.Fatalf("%q: Next(%v) = %v, not after", spec, after, next)
		}
		if !s.matches(next) || next.Second() != 0 || next.Location() != after.Location() {
			t.Fatalf("%q: Next(%v) = %v does not match", spec, after, next)
		}
		if err := checkScan(s, after, next, 3*24*60); err != "" {
			t.Fatal(err)
		}
	})
}
