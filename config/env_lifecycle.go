package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // TZ must work in an image without /usr/share/zoneinfo
	"unicode"
	"unicode/utf8"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/labels"
)

// This file reads the variables of the README's "Lifecycle" settings: when
// due renewals run (CRON_TIME_STRING, TZ), how each new version is written
// (PFX_EXPORT*, CERTS_USER_OWNER, CERTS_GROUP_OWNER), what runs after it or
// after a failure (DEPLOY_HOOK, CERTDOCK_ON_FAILURE), when a certificate is
// removed (CERTDOCK_REVOKE_REMOVED, CERTDOCK_LABEL_GRACE), and the challenge
// delegation (DELEGATED_DOMAIN, DELEGATED_SUBDOMAIN); and renders them back
// for Summary. env.go holds Config, FromEnv and the other variables.

// Defaults for the lifecycle settings.
const (
	DefaultLabelGrace = 7 * 24 * time.Hour
	// NoOwner is UID or GID when the owner is left unchanged.
	NoOwner = -1
)

// PFX_EXPORT_ENCODING values.
const (
	PFXModern = "modern"
	PFXLegacy = "legacy"
)

const day = 24 * time.Hour

// maxID is the largest uid or gid: uid_t is 32 bits and its all-ones value
// means "unchanged" to chown.
const maxID = math.MaxUint32 - 1

func parseCron(v string) (*Schedule, error) {
	if v == "" {
		v = DefaultCron
	}
	return ParseSchedule(v)
}

// parseLocation loads a time zone by IANA name ("Europe/Paris"), also
// written ":Europe/Paris" as glibc allows, or from an absolute path to a
// TZif file. Empty is UTC.
func parseLocation(v string) (*time.Location, error) {
	name := strings.TrimPrefix(v, ":")
	if name == "" {
		return time.UTC, nil
	}
	if filepath.IsAbs(name) {
		data, err := os.ReadFile(name)
		if err != nil {
			return time.UTC, fmt.Errorf("%q: %v", v, err)
		}
		loc, err := time.LoadLocationFromTZData(name, data)
		if err != nil {
			return time.UTC, fmt.Errorf("%q is not a time zone file: %v", v, err)
		}
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, fmt.Errorf("%q is not a time zone name (e.g. UTC, Europe/Paris, America/New_York)", v)
	}
	return loc, nil
}

// parsePassphrase accepts any printable UTF-8 text. The value is secret:
// messages never include it.
func parsePassphrase(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", errors.New("is not valid UTF-8 (value not shown)")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return "", errors.New("contains a control character (value not shown)")
		}
	}
	return v, nil
}

func parsePFXEncoding(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", PFXModern:
		return false, nil
	case PFXLegacy:
		return true, nil
	}
	return false, fmt.Errorf("%q: use modern (the default) or legacy (weaker ciphers that old Windows and Java versions need)", v)
}

// ownerParser returns a parser of CERTS_USER_OWNER or CERTS_GROUP_OWNER: a
// numeric id, or a name looked up in the system's user or group database.
// "root" is 0 even where no database exists (a FROM scratch image); "-1"
// means unchanged, as for chown(2).
func ownerParser(kind string, lookup func(name string) (string, error)) func(string) (int, error) {
	return func(v string) (int, error) {
		if v == "" {
			return NoOwner, nil
		}
		if v == "-1" { // chown's "unchanged"
			return NoOwner, nil
		}
		if v[0] >= '0' && v[0] <= '9' {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n > maxID {
				return NoOwner, fmt.Errorf("%q is not a %s id (0 to %d) or name", v, kind, uint64(maxID))
			}
			return int(n), nil
		}
		if v == "root" {
			return 0, nil
		}
		for i, r := range v {
			if i == 0 && (r == '-' || r == '+') || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' {
				return NoOwner, fmt.Errorf("%q is not a %s name or numeric id", v, kind)
			}
		}
		id, err := lookup(v)
		if err != nil {
			var unknownUser user.UnknownUserError
			var unknownGroup user.UnknownGroupError
			if errors.As(err, &unknownUser) || errors.As(err, &unknownGroup) {
				return NoOwner, fmt.Errorf("no %s named %q on this system (give a numeric id to use one the container does not know)", kind, v)
			}
			return NoOwner, fmt.Errorf("cannot look up %s %q: %v (give a numeric id instead)", kind, v, err)
		}
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil || n > maxID {
			return NoOwner, fmt.Errorf("%s %q has id %q, which is not a number", kind, v, id)
		}
		return int(n), nil
	}
}

var (
	parseUserOwner = ownerParser("user", func(name string) (string, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	parseGroupOwner = ownerParser("group", func(name string) (string, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
)

// parseDeployHook accepts a shell command line; tabs and newlines are
// allowed (sh -c runs it), other control characters are not.
func parseDeployHook(v string) (string, error) {
	for _, r := range v {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return "", fmt.Errorf("contains the control character %U", r)
		}
	}
	return v, nil
}

// boolOr returns a boolean parser whose default is def.
func boolOr(def bool) func(string) (bool, error) {
	return func(v string) (bool, error) {
		if v == "" {
			return def, nil
		}
		return parseBool(v)
	}
}

// parseGrace reads a Go duration ("36h", "90m", "0") or whole days ("7d").
func parseGrace(v string) (time.Duration, error) {
	if v == "" {
		return DefaultLabelGrace, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok && days != "" && days[0] >= '0' && days[0] <= '9' {
		n, err := strconv.ParseUint(days, 10, 64)
		if err != nil || n > uint64(math.MaxInt64/int64(day)) {
			return DefaultLabelGrace, fmt.Errorf("%q is not a number of days (e.g. 7d) or a duration (e.g. 36h)", v)
		}
		d = time.Duration(n) * day
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return DefaultLabelGrace, fmt.Errorf("%q is not a number of days (e.g. 7d) or a duration (e.g. 36h)", v)
		}
	}
	if d < 0 {
		return DefaultLabelGrace, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// parseArgv splits a command line into argv like a shell would, without
// running one.
func parseArgv(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	return labels.SplitCommand(v)
}

// parseDelegated normalises a delegated zone or name; wildcards are
// refused.
func parseDelegated(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	d, err := cert.NormalizeDomain(v)
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(d, "*.") {
		return "", fmt.Errorf("%q: a delegated name cannot be a wildcard", v)
	}
	return d, nil
}

// delegation reads DELEGATED_DOMAIN (the zone holding the challenge
// records) and DELEGATED_SUBDOMAIN (the name the _acme-challenge CNAMEs
// point under). One alone is used for both; with both, the subdomain must
// be the domain or a name under it.
func delegation(e *env) (domain, sub string) {
	domain = parse(e, "DELEGATED_DOMAIN", parseDelegated)
	sub = parse(e, "DELEGATED_SUBDOMAIN", parseDelegated)
	switch {
	case domain != "" && sub != "":
		if sub != domain && !strings.HasSuffix(sub, "."+domain) {
			e.fail("DELEGATED_SUBDOMAIN", fmt.Errorf("%q is not DELEGATED_DOMAIN %q or a name under it", sub, domain))
		}
	case domain != "" && e.get("DELEGATED_SUBDOMAIN") == "":
		sub = domain
	case sub != "" && e.get("DELEGATED_DOMAIN") == "":
		domain = sub
	}
	return domain, sub
}

// quoteArgv renders argv so that labels.SplitCommand reads it back.
func quoteArgv(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n\r'\"\\$`") {
			parts[i] = a
			continue
		}
		parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(parts, " ")
}

// durationText prints whole days as "7d", other durations as Go does.
func durationText(d time.Duration) string {
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// ownerText prints an owner id, or says it is left unchanged.
func ownerText(id int) string {
	if id < 0 {
		return "(unchanged)"
	}
	return strconv.Itoa(id)
}
