package dnspersist

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Until is CERTDOCK_PERSIST_UNTIL: a fixed date, or a duration counted
// from when a record is printed or written. The zero Until means no
// persistUntil.
type Until struct {
	// At is a fixed time; zero when After is used.
	At time.Time
	// After is a duration from now; zero when At is used.
	After time.Duration
}

// IsZero reports whether no persistUntil is wanted.
func (u Until) IsZero() bool { return u.At.IsZero() && u.After == 0 }

// Time is the persistUntil of a record printed or written at now (zero
// when none is wanted), truncated to whole seconds as records carry it.
func (u Until) Time(now time.Time) time.Time {
	switch {
	case !u.At.IsZero():
		return u.At.UTC().Truncate(time.Second)
	case u.After > 0:
		return now.Add(u.After).UTC().Truncate(time.Second)
	}
	return time.Time{}
}

// String gives the setting back as it reads best.
func (u Until) String() string {
	switch {
	case !u.At.IsZero():
		return u.At.UTC().Format(time.RFC3339)
	case u.After > 0:
		if u.After%(24*time.Hour) == 0 {
			return strconv.FormatInt(int64(u.After/(24*time.Hour)), 10) + "d"
		}
		return u.After.String()
	}
	return ""
}

// ParseUntil reads CERTDOCK_PERSIST_UNTIL at now: a duration of an hour
// or more ("8760h", "365d", "2y" as 730 days, a year being 365 days), a date
// ("2027-12-31", the start of that day in UTC) or an RFC 3339 time. A
// fixed time that is not after now, or a duration that is not positive,
// is an error. "" gives the zero Until.
func ParseUntil(v string, now time.Time) (Until, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Until{}, nil
	}
	if d, ok, err := parseDays(v); ok {
		if err != nil {
			return Until{}, err
		}
		return afterUntil(d)
	}
	if d, err := time.ParseDuration(v); err == nil {
		return afterUntil(d)
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		t, err := time.ParseInLocation(layout, v, time.UTC)
		if err != nil {
			continue
		}
		if !t.After(now) {
			return Until{}, fmt.Errorf("%s is in the past: the CA would refuse every record carrying it", t.UTC().Format(time.RFC3339))
		}
		return Until{At: t.UTC()}, nil
	}
	return Until{}, errors.New("want a duration (8760h, 365d, 2y) or a date (2027-12-31, or RFC 3339)")
}

// parseDays reads "<n>d" and "<n>y"; ok is false for anything else.
func parseDays(v string) (time.Duration, bool, error) {
	unit := 24 * time.Hour
	num, ok := strings.CutSuffix(v, "d")
	if !ok {
		if num, ok = strings.CutSuffix(v, "y"); !ok {
			return 0, false, nil
		}
		unit = 365 * 24 * time.Hour
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, false, nil // not a whole number: the caller reports it
	}
	if n > 100*365 || time.Duration(n)*unit > century {
		return 0, true, fmt.Errorf("%q is more than a century", v)
	}
	return time.Duration(n) * unit, true, nil
}

// century bounds every duration, however it is written (365d, 8760h, 2y).
const century = 100 * 365 * 24 * time.Hour

func afterUntil(d time.Duration) (Until, error) {
	switch {
	case d <= 0:
		return Until{}, fmt.Errorf("duration %s is not positive", d)
	case d < time.Hour:
		return Until{}, fmt.Errorf("duration %s is shorter than an hour: the records would expire before they are used", d)
	case d > century:
		return Until{}, fmt.Errorf("duration %s is more than a century", d)
	}
	return Until{After: d}, nil
}
