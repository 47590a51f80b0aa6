package dnspersist

import (
	"strings"
	"testing"
	"time"
)

const (
	acct  = "https://ca.example/acct/1"
	other = "https://ca.example/acct/2"
	iss   = "letsencrypt.org"
)

func TestWants(t *testing.T) {
	until := time.Unix(1900000000, 0)
	tests := []struct {
		name    string
		domains []string
		until   time.Time
		lines   []string
	}{
		{"single", []string{"a.example.com"}, time.Time{},
			[]string{`_validation-persist.a.example.com. IN TXT "letsencrypt.org; accounturi=https://ca.example/acct/1"`}},
		{"SAN pair", []string{"a.example.com", "b.example.com"}, time.Time{}, []string{
			`_validation-persist.a.example.com. IN TXT "letsencrypt.org; accounturi=https://ca.example/acct/1"`,
			`_validation-persist.b.example.com. IN TXT "letsencrypt.org; accounturi=https://ca.example/acct/1"`}},
		{"wildcard and apex share one record", []string{"*.example.com", "example.com"}, time.Time{},
			[]string{`_validation-persist.example.com. IN TXT "letsencrypt.org; accounturi=https://ca.example/acct/1; policy=wildcard"`}},
		{"apex first", []string{"example.com", "*.example.com"}, until,
			[]string{`_validation-persist.example.com. IN TXT "letsencrypt.org; accounturi=https://ca.example/acct/1; policy=wildcard; persistUntil=1900000000"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := Wants(tt.domains, iss, acct, tt.until)
			var got []string
			for _, w := range ws {
				got = append(got, w.ZoneLine())
			}
			if strings.Join(got, "\n") != strings.Join(tt.lines, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.lines, "\n"))
			}
		})
	}
}

func TestQuoteTXTSplitsLongValues(t *testing.T) {
	v := strings.Repeat("a", 300)
	got := QuoteTXT(v)
	want := `"` + strings.Repeat("a", 255) + `" "` + strings.Repeat("a", 45) + `"`
	if got != want {
		t.Errorf("QuoteTXT = %s", got)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Record
		wantErr string
	}{
		{in: "letsencrypt.org; accounturi=" + acct, want: Record{Issuer: iss, AccountURI: acct}},
		{in: "LetsEncrypt.org;accounturi=" + acct + ";Policy=WILDCARD", want: Record{Issuer: iss, AccountURI: acct, Wildcard: true}},
		{in: "letsencrypt.org; accounturi=" + acct + "; policy=other", want: Record{Issuer: iss, AccountURI: acct}},
		{in: "letsencrypt.org; accounturi=" + acct + "; persistUntil=1900000000; foo=bar", want: Record{Issuer: iss, AccountURI: acct, PersistUntil: time.Unix(1900000000, 0).UTC()}},
		{in: "letsencrypt.org", want: Record{Issuer: iss}},
		{in: "", wantErr: "no issuer"},
		{in: "letsencrypt.org; accounturi", wantErr: "malformed parameter"},
		{in: "letsencrypt.org; accounturi=a; accounturi=b", wantErr: "twice"},
		{in: "letsencrypt.org; accounturi=a;", wantErr: "empty parameter"},
		{in: "letsencrypt.org; persistUntil=soon", wantErr: "not a Unix time"},
		{in: "letsencrypt.org; accounturi=", wantErr: "empty accounturi"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Raw = ""
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	now := time.Unix(1800000000, 0)
	single := Want{Name: "a.example.com", Issuer: iss, AccountURI: acct}
	wild := Want{Name: "example.com", Wildcard: true, Issuer: iss, AccountURI: acct}
	tests := []struct {
		name    string
		want    Want
		txts    []string
		also    []string
		problem Problem
		detail  string
	}{
		{"match", single, []string{"letsencrypt.org; accounturi=" + acct}, nil, OK, ""},
		{"match among others", single, []string{"v=spf1 -all", "other-ca.example; accounturi=x", "letsencrypt.org; accounturi=" + acct}, nil, OK, ""},
		{"wildcard record also fits the apex", single, []string{"letsencrypt.org; accounturi=" + acct + "; policy=wildcard"}, nil, OK, ""},
		{"future persistUntil", single, []string{"letsencrypt.org; accounturi=" + acct + "; persistUntil=1800000001"}, nil, OK, ""},
		{"another accepted issuer name", single, []string{"le.example; accounturi=" + acct}, []string{"le.example"}, OK, ""},
		{"nothing", single, nil, nil, Missing, "_validation-persist.a.example.com has no dns-persist-01 record for letsencrypt.org"},
		{"another CA only", single, []string{"other-ca.example; accounturi=" + acct}, nil, Missing, "has no dns-persist-01 record"},
		{"another account", single, []string{"letsencrypt.org; accounturi=" + other}, nil, OtherAccount,
			"_validation-persist.a.example.com authorizes another ACME account (accounturi=https://ca.example/acct/2), not the current one https://ca.example/acct/1"},
		{"expired", single, []string{"letsencrypt.org; accounturi=" + acct + "; persistUntil=1700000000"}, nil, Expired,
			"_validation-persist.a.example.com expired: persistUntil=1700000000 (2023-11-14T22:13:20Z) is in the past"},
		{"persistUntil now is past", single, []string{"letsencrypt.org; accounturi=" + acct + "; persistUntil=1800000000"}, nil, Expired, "expired"},
		{"wildcard without policy", wild, []string{"letsencrypt.org; accounturi=" + acct}, nil, NoWildcardPolicy,
			"_validation-persist.example.com lacks policy=wildcard, which *.example.com needs"},
		{"wildcard with policy", wild, []string{"letsencrypt.org; accounturi=" + acct + "; policy=wildcard"}, nil, OK, ""},
		{"malformed", single, []string{"letsencrypt.org; accounturi"}, nil, Malformed, "malformed record"},
		{"no accounturi", single, []string{"letsencrypt.org"}, nil, Malformed, "no accounturi"},
		{"our record wins over a stale one", single, []string{"letsencrypt.org; accounturi=" + other, "letsencrypt.org; accounturi=" + acct}, nil, OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.want, tt.txts, now, tt.also...)
			if v.Problem != tt.problem {
				t.Fatalf("Problem = %v (%s), want %v", v.Problem, v.Detail, tt.problem)
			}
			if !strings.Contains(v.Detail, tt.detail) || (tt.detail == "") != (v.Detail == "") {
				t.Errorf("Detail = %q, want %q", v.Detail, tt.detail)
			}
		})
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{in: "", want: time.Time{}},
		{in: "8760h", want: now.Add(8760 * time.Hour)},
		{in: "365d", want: now.Add(365 * 24 * time.Hour)},
		{in: "2y", want: now.Add(730 * 24 * time.Hour)},
		{in: "2027-12-31", want: time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)},
		{in: "2027-06-01T12:00:00+02:00", want: time.Date(2027, 6, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2020-01-01", wantErr: "in the past"},
		{in: "-5h", wantErr: "not positive"},
		{in: "0d", wantErr: "not positive"},
		{in: "soon", wantErr: "want a duration"},
		{in: "30m", wantErr: "shorter than an hour"},
		{in: "1.5d", wantErr: "want a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseUntil(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Time(now); !got.Equal(tt.want) {
				t.Errorf("Time = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("letsencrypt.org; accounturi=https://ca.example/acct/1; policy=wildcard; persistUntil=1900000000")
	f.Add("a;b=c;;")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if r.Issuer == "" || r.Issuer != strings.ToLower(r.Issuer) {
			t.Fatalf("Parse(%q) accepted issuer %q", s, r.Issuer)
		}
		// What Want writes, Parse reads back.
		w := Want{Name: "x.example", Issuer: r.Issuer, AccountURI: "https://ca.example/a", Wildcard: r.Wildcard, PersistUntil: r.PersistUntil}
		if strings.ContainsAny(r.Issuer, ";=") {
			return
		}
		back, err := Parse(w.Value())
		if err != nil || back.Wildcard != w.Wildcard || !back.PersistUntil.Equal(w.PersistUntil) {
			t.Fatalf("round trip of %q: %+v, %v", w.Value(), back, err)
		}
	})
}

func TestJudgeKeepsOtherAccountsNextToAMatch(t *testing.T) {
	w := Want{Name: "a.example.com", Issuer: iss, AccountURI: acct}
	v := Judge(w, []string{"letsencrypt.org; accounturi=" + acct, "letsencrypt.org; accounturi=" + other}, time.Unix(1800000000, 0))
	if v.Problem != OK || len(v.Others) != 1 || v.Others[0] != other {
		t.Fatalf("verdict = %+v", v)
	}
}

func FuzzParseUntil(f *testing.F) {
	for _, s := range []string{"365d", "8760h", "2y", "2027-12-31", "2027-06-01T12:00:00+02:00", "-1d", "1.5d", "881160h"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUntil(s, now)
		if err != nil {
			return
		}
		if strings.TrimSpace(s) == "" {
			if !u.IsZero() {
				t.Fatalf("ParseUntil(%q) = %+v, want none", s, u)
			}
			return
		}
		// Whatever is accepted lies in the future and reads back the same.
		if got := u.Time(now); !got.After(now) {
			t.Fatalf("ParseUntil(%q) gives %v, not after %v", s, got, now)
		}
		back, err := ParseUntil(u.String(), now)
		if err != nil || !back.Time(now).Equal(u.Time(now)) {
			t.Fatalf("ParseUntil(%q) = %+v; its String %q reads back as %+v, %v", s, u, u.String(), back, err)
		}
	})
}
