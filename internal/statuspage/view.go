package statuspage

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/certdock/certdock/internal/certstatus"
)

// page is what page.html renders.
type page struct {
	Generated time.Time
	// Refresh is the page's refresh period in seconds.
	Refresh   int
	Certs     []certView
	Problems  []string
	Attention int // certificates not "ok"
}

// certView is one row with what the page derives from it.
type certView struct {
	certstatus.Row
	// Percent is the share of the lifetime left, 0–100.
	Percent int
	// LeftText says the time left, e.g. "59 of 90 days left".
	LeftText string
	// Class colours the state: ok, due or bad.
	Class string
}

// newPage derives the page from the rows at now: a pure function.
func newPage(rows []certstatus.Row, problems []error, now time.Time, refresh time.Duration) page {
	p := page{Generated: now, Refresh: max(1, int(refresh/time.Second))}
	for _, r := range rows {
		v := certView{Row: r, Class: stateClass(r)}
		if r.NotAfter != nil {
			v.Percent, v.LeftText = lifeLeft(r.NotBefore, *r.NotAfter, now)
		}
		if v.Class != "ok" {
			p.Attention++
		}
		p.Certs = append(p.Certs, v)
	}
	for _, e := range problems {
		p.Problems = append(p.Problems, e.Error())
	}
	return p
}

// stateClass is ok for a valid certificate that is not failing, due for
// one inside its renewal window, bad for anything else.
func stateClass(r certstatus.Row) string {
	switch {
	case r.Failures > 0, r.State != certstatus.StateOK && r.State != certstatus.StateDue:
		return "bad"
	case r.State == certstatus.StateDue:
		return "due"
	}
	return "ok"
}

// lifeLeft is the share of the validity left at now (0 when expired) and
// its text.
func lifeLeft(notBefore *time.Time, notAfter, now time.Time) (int, string) {
	left := notAfter.Sub(now)
	if left <= 0 {
		return 0, "expired " + stamp(notAfter)
	}
	text := durationText(left) + " left"
	if notBefore == nil || !notAfter.After(*notBefore) {
		return 100, text
	}
	life := notAfter.Sub(*notBefore)
	pct := int(min(100, float64(left)*100/float64(life)))
	return pct, fmt.Sprintf("%s of %s left", strings.TrimSuffix(durationText(left), " days"), durationText(life))
}

// durationText says a duration in whole days, or hours below two days,
// rounded to the nearest.
func durationText(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(math.Round(d.Hours())))
	}
	return fmt.Sprintf("%d days", int(math.Round(d.Hours()/24)))
}

// stamp formats a time for the page (UTC, to the minute); "-" for none.
func stamp(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "-"
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return "-"
		}
		return stamp(*v)
	}
	return "-"
}
