package config

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/dnspersist"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/labels"
	"github.com/certdock/certdock/lexicon"
)

// Let's Encrypt's ACME v2 directories.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// Defaults for settings whose variable is unset.
const (
	DefaultDir           = "/etc/letsencrypt"
	DefaultProvider      = lexicon.DefaultProvider
	DefaultKeyType       = cert.EC256
	DefaultDirsMode      = fs.FileMode(0o750)
	DefaultFilesMode     = fs.FileMode(0o640)
	DefaultWorkers       = 8
	DefaultCheckInterval = time.Hour
)

// seedDefaultEmail is LETSENCRYPT_USER_MAIL's default in the seed image.
// Let's Encrypt refuses example.com contacts, so it means "no contact".
const seedDefaultEmail = "noreply@example.com"

// Limits on numeric settings.
const (
	maxWorkers       = 64
	minCheckInterval = time.Minute
	maxSleepSeconds  = 24 * 60 * 60
)

// Config is certdock's configuration, read from environment variables. A
// Config returned by FromEnv is complete: defaults are filled in and every
// value has been validated.
type Config struct {
	// Email is the ACME account contact, from LETSENCRYPT_USER_MAIL. It is
	// empty when the variable is unset or holds the seed's default
	// noreply@example.com: the account is then registered with no contact.
	Email string

	// Staging selects Let's Encrypt's staging directory
	// (LETSENCRYPT_STAGING) when DirectoryURL is not set explicitly.
	Staging bool

	// DirectoryURL is the ACME directory: ACME_DIRECTORY_URL if set, else
	// Let's Encrypt staging when Staging, else Let's Encrypt production.
	DirectoryURL string

	// CACertificates are PEM files trusted, in addition to the system
	// roots, for the ACME server's TLS certificate: ACME_CA_CERTIFICATES,
	// else LEGO_CA_CERTIFICATES. Each file exists and holds a certificate.
	CACertificates []string

	// Provider is the DNS provider name, lower case: DNS_PROVIDER, else
	// LEXICON_PROVIDER, else "cloudflare". It is not checked against the
	// list of known providers here.
	Provider string

	// Challenge is how certificates are validated (CERTDOCK_CHALLENGE):
	// ChallengeDNS01 (default) or ChallengeDNSPersist01, which needs no
	// DNS provider.
	Challenge string
	// PersistUntil is the persistUntil written in the dns-persist-01
	// records certdock prints or creates (CERTDOCK_PERSIST_UNTIL); zero:
	// none.
	PersistUntil dnspersist.Until
	// ProviderVar is the variable Provider came from: "DNS_PROVIDER",
	// "LEXICON_PROVIDER", or "" for the default. A LEXICON_PROVIDER name
	// may need mapping to the lego name.
	ProviderVar string

	// KeyType is the default key algorithm for certificates
	// (ACME_KEY_TYPE, default ec256).
	KeyType cert.KeyType

	// KeyTypeSet is true when ACME_KEY_TYPE was given: only then does a
	// certificate with another key type (e.g. an RSA one adopted from
	// certbot) get re-issued; otherwise KeyType only applies to new ones.
	KeyTypeSet bool

	// Profile is the ACME profile to request (ACME_PROFILE); empty means
	// the CA's default.
	Profile string

	// Dir is the absolute, cleaned data directory in certbot's layout
	// (CERTDOCK_DIR, default /etc/letsencrypt).
	Dir string

	// Resolvers are the DNS servers used for the propagation check, each
	// "host:port" (DNS_RESOLVERS; port 53 when not given). Empty means the
	// issuer's default.
	Resolvers []string

	// SleepTime is a fixed wait after publishing the DNS challenge, before
	// asking the CA to validate (LEXICON_SLEEP_TIME, in seconds). Zero
	// means no fixed wait.
	SleepTime time.Duration

	// LogLevel is the minimum level logged (CERTDOCK_LOG_LEVEL: debug,
	// info, warn or error; default info).
	LogLevel slog.Level

	// LogFormat is "text" or "json" (CERTDOCK_LOG_FORMAT, default text).
	LogFormat string

	// DirsMode is the permission of directories under archive/ and live/
	// (CERTS_DIRS_MODE, default 0750).
	DirsMode fs.FileMode

	// FilesMode is the permission of certificate and key files
	// (CERTS_FILES_MODE, default 0640).
	FilesMode fs.FileMode

	// Workers is how many certificates may be processed at once
	// (CERTDOCK_WORKERS, 1–64, default 8).
	Workers int

	// CheckInterval is how often the daemon re-checks every certificate
	// even when nothing changed (CERTDOCK_CHECK_INTERVAL, a Go duration,
	// at least 1m, default 1h).
	CheckInterval time.Duration

	// EABKID is the external account binding key identifier
	// (ACME_EAB_KID), set together with EABHMAC or not at all.
	EABKID string

	// EABHMAC is the external account binding MAC key (ACME_EAB_HMAC),
	// base64url-encoded with any "=" padding removed. It is secret.
	EABHMAC string

	// Listen is where /healthz and /metrics are served (CERTDOCK_LISTEN,
	// e.g. ":9090"); empty serves nothing.
	Listen string

	// LabelPrefix is the prefix of certdock's Docker labels
	// (CERTDOCK_LABEL_PREFIX, default "certdock").
	LabelPrefix string

	// AllowedDomains limits the names Docker labels may request
	// (CERTDOCK_ALLOWED_DOMAINS, patterns like "*.example.com"); nil
	// allows every name.
	AllowedDomains *labels.Allowlist

	// TraefikLabels also reads Traefik's router labels: the names of
	// every TLS router of a container or service get a certificate
	// (CERTDOCK_TRAEFIK_LABELS, default false).
	TraefikLabels bool

	// DnsrobocertConfig is dnsrobocert's config.yml, read as a source of
	// certificates and DNS profiles (CERTDOCK_DNSROBOCERT_CONFIG, else
	// dnsrobocert's CONFIG_PATH); empty: none.
	DnsrobocertConfig string

	// Cluster is DOCKER_CLUSTER_PROVIDER: "none" (default) or "swarm",
	// where domains.conf's autorestart-containers names services.
	Cluster string
	// State is where certdock's state lives: StateLocal or StateSwarm
	// (CERTDOCK_STATE; see stateMode), StateKeyFile the key sealing
	// private material in the swarm (CERTDOCK_STATE_KEY_FILE), and
	// StateKeyMissing says swarm mode was possible but no key file is
	// set (certdock runs local and warns).
	State           string
	StateKeyFile    string
	StateKeyMissing bool

	// Cron is when every certificate is checked for renewal, as the seed's
	// cron job did (CRON_TIME_STRING, five cron fields, default
	// "12 01,13 * * *": 01:12 and 13:12). It is evaluated in Location:
	// call Cron.Next(now.In(Location)).
	Cron *Schedule

	// Location is the time zone of Cron (TZ: an IANA name such as
	// Europe/Paris, default UTC).
	Location *time.Location

	// PFXExport also writes live/<name>/cert.pfx, a PKCS#12 file with the
	// key, the certificate and its chain (PFX_EXPORT, default false).
	PFXExport bool

	// PFXPassphrase protects the PFX files (PFX_EXPORT_PASSPHRASE; empty
	// means no passphrase). Surrounding white space is removed and control
	// characters are refused. It is secret.
	PFXPassphrase string

	// PFXLegacy selects the legacy PKCS#12 encryption that old Windows and
	// Java versions need (PFX_EXPORT_ENCODING=legacy) instead of the modern
	// default (PFX_EXPORT_ENCODING=modern).
	PFXLegacy bool

	// UID is the owner given to directories and files under archive/ and
	// live/ (CERTS_USER_OWNER: a numeric id or a user name looked up in
	// the container's user database; "root" is always 0). NoOwner (-1)
	// when unset or "-1": ownership is left as created.
	UID int

	// GID is the group given to directories and files under archive/ and
	// live/ (CERTS_GROUP_OWNER: a numeric id or a group name). NoOwner
	// (-1) when unset or "-1".
	GID int

	// DeployHook is a command line run with sh -c after a certificate is
	// created or renewed, with RENEWED_LINEAGE and RENEWED_DOMAINS in its
	// environment, as certbot does (DEPLOY_HOOK; empty means none).
	DeployHook string

	// RevokeRemoved revokes a certificate when certdock removes it because
	// nothing asks for it any more (CERTDOCK_REVOKE_REMOVED, default
	// true).
	RevokeRemoved bool

	// LabelGrace is how long a certificate requested only by Docker labels
	// is kept after the last workload carrying the labels disappears, so
	// that a redeploy does not lose it (CERTDOCK_LABEL_GRACE: a Go
	// duration such as 36h or whole days such as 7d; default 7d; zero
	// removes it at once).
	LabelGrace time.Duration

	// OnFailure is a command run, without a shell, when issuing or
	// renewing a certificate fails (CERTDOCK_ON_FAILURE, split into argv
	// like a shell would: quotes and backslashes, no expansion). Nil
	// means none.
	OnFailure []string

	// ReuseKey keeps a certificate's private key across renewals instead
	// of generating a new one each time (ACME_REUSE_KEY, default false).
	ReuseKey bool

	// DelegatedDomain is the zone that holds the DNS challenge records
	// when _acme-challenge names are CNAMEs into another zone
	// (DELEGATED_DOMAIN), normalised; empty means no delegation. When only
	// DELEGATED_SUBDOMAIN is set it is used here too.
	DelegatedDomain string

	// DelegatedSubdomain is the name under which the challenge records
	// are published: _acme-challenge.DOMAIN is a CNAME to
	// _acme-challenge.<DelegatedSubdomain> (DELEGATED_SUBDOMAIN),
	// normalised; it is DelegatedDomain or a name under it. When only
	// DELEGATED_DOMAIN is set it is used here too.
	DelegatedSubdomain string

	// Profiles are the DNS profiles: providers with their own credentials
	// and zones (CERTDOCK_PROFILE_<NAME>_*, read by ReadProfiles, which
	// needs the whole environment; FromEnv leaves this empty).
	Profiles []dnsprofile.Profile
}

// DomainsFile is the path of domains.conf: Dir/domains.conf.
func (c *Config) DomainsFile() string {
	return filepath.Join(c.Dir, "domains.conf")
}

// EnvError is a problem with one environment variable. Its message has the
// form "VARIABLE: what is wrong".
type EnvError struct {
	Var string // the variable's name
	Err error  // what is wrong with its value
}

// Error renders the problem as "VARIABLE: what is wrong".
func (e *EnvError) Error() string { return e.Var + ": " + e.Err.Error() }

// Unwrap returns the underlying problem.
func (e *EnvError) Unwrap() error { return e.Err }

// FromEnv reads the configuration through getenv (os.Getenv in
// production). A variable that is unset, empty or only whitespace takes
// its default. Every problem found is reported, each as an *EnvError, in
// one error built with errors.Join; the Config is then nil.
func FromEnv(getenv func(string) string) (*Config, error) {
	e := &env{getenv: getenv}
	c := &Config{}

	c.Email = parse(e, "LETSENCRYPT_USER_MAIL", parseEmail)
	c.Staging = parse(e, "LETSENCRYPT_STAGING", parseBool)
	if parse(e, "LETSENCRYPT_ACME_V1", parseBool) {
		e.fail("LETSENCRYPT_ACME_V1", errors.New("ACME v1 was shut down by Let's Encrypt in 2021; certdock only speaks ACME v2 (RFC 8555): unset the variable or set it to false"))
	}
	switch {
	case e.get("ACME_DIRECTORY_URL") != "":
		c.DirectoryURL = parse(e, "ACME_DIRECTORY_URL", parseDirectoryURL)
	case c.Staging:
		c.DirectoryURL = LetsEncryptStaging
	default:
		c.DirectoryURL = LetsEncryptProduction
	}
	caVar := "ACME_CA_CERTIFICATES"
	if e.get(caVar) == "" {
		caVar = "LEGO_CA_CERTIFICATES"
	}
	c.CACertificates = parse(e, caVar, parseCAFiles)

	c.Provider, c.ProviderVar = DefaultProvider, ""
	for _, name := range []string{"DNS_PROVIDER", "LEXICON_PROVIDER"} {
		if e.get(name) != "" {
			c.Provider, c.ProviderVar = parse(e, name, parseProvider), name
			break
		}
	}
	c.Challenge = parse(e, "CERTDOCK_CHALLENGE", ParseChallenge)
	c.PersistUntil = parse(e, "CERTDOCK_PERSIST_UNTIL", parsePersistUntil)
	c.KeyType = parse(e, "ACME_KEY_TYPE", parseKeyType)
	c.KeyTypeSet = e.get("ACME_KEY_TYPE") != ""
	c.Profile = parse(e, "ACME_PROFILE", parseProfile)
	c.Dir = parse(e, "CERTDOCK_DIR", parseDir)
	c.Resolvers = parse(e, "DNS_RESOLVERS", parseResolvers)
	c.SleepTime = parse(e, "LEXICON_SLEEP_TIME", parseSleep)
	c.LogLevel = parse(e, "CERTDOCK_LOG_LEVEL", parseLogLevel)
	c.LogFormat = parse(e, "CERTDOCK_LOG_FORMAT", parseLogFormat)
	c.DirsMode = parse(e, "CERTS_DIRS_MODE", modeOr(DefaultDirsMode))
	c.FilesMode = parse(e, "CERTS_FILES_MODE", modeOr(DefaultFilesMode))
	c.Workers = parse(e, "CERTDOCK_WORKERS", parseWorkers)
	c.CheckInterval = parse(e, "CERTDOCK_CHECK_INTERVAL", parseCheckInterval)

	c.Listen = parse(e, "CERTDOCK_LISTEN", parseListen)
	c.LabelPrefix = parse(e, "CERTDOCK_LABEL_PREFIX", parseLabelPrefix)
	c.AllowedDomains = parse(e, "CERTDOCK_ALLOWED_DOMAINS", parseAllowed)
	c.TraefikLabels = parse(e, "CERTDOCK_TRAEFIK_LABELS", parseBool)
	c.DnsrobocertConfig = e.get("CERTDOCK_DNSROBOCERT_CONFIG")
	if c.DnsrobocertConfig == "" {
		c.DnsrobocertConfig = e.get("CONFIG_PATH")
	}
	c.Cluster = parse(e, "DOCKER_CLUSTER_PROVIDER", parseCluster)
	c.StateKeyFile = e.get("CERTDOCK_STATE_KEY_FILE")
	if mode, warn, err := stateMode(e.get("CERTDOCK_STATE"), c.Cluster, c.StateKeyFile); err != nil {
		e.fail("CERTDOCK_STATE", err)
	} else {
		c.State, c.StateKeyMissing = mode, warn
	}

	c.Location = parse(e, "TZ", parseLocation)
	c.Cron = parse(e, "CRON_TIME_STRING", parseCron)
	c.PFXExport = parse(e, "PFX_EXPORT", parseBool)
	c.PFXPassphrase = parse(e, "PFX_EXPORT_PASSPHRASE", parsePassphrase)
	c.PFXLegacy = parse(e, "PFX_EXPORT_ENCODING", parsePFXEncoding)
	c.UID = parse(e, "CERTS_USER_OWNER", parseUserOwner)
	c.GID = parse(e, "CERTS_GROUP_OWNER", parseGroupOwner)
	c.DeployHook = parse(e, "DEPLOY_HOOK", parseDeployHook)
	c.RevokeRemoved = parse(e, "CERTDOCK_REVOKE_REMOVED", boolOr(true))
	c.LabelGrace = parse(e, "CERTDOCK_LABEL_GRACE", parseGrace)
	c.OnFailure = parse(e, "CERTDOCK_ON_FAILURE", parseArgv)
	c.ReuseKey = parse(e, "ACME_REUSE_KEY", parseBool)
	c.DelegatedDomain, c.DelegatedSubdomain = delegation(e)

	c.EABKID = e.get("ACME_EAB_KID")
	c.EABHMAC = parse(e, "ACME_EAB_HMAC", parseEABHMAC)
	switch {
	case c.EABKID != "" && e.get("ACME_EAB_HMAC") == "":
		e.fail("ACME_EAB_HMAC", errors.New("must be set when ACME_EAB_KID is (external account binding needs both)"))
	case c.EABKID == "" && e.get("ACME_EAB_HMAC") != "":
		e.fail("ACME_EAB_KID", errors.New("must be set when ACME_EAB_HMAC is (external account binding needs both)"))
	}

	if err := errors.Join(e.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// env reads variables and collects their problems.
type env struct {
	getenv func(string) string
	errs   []error
}

// get returns the variable's value with surrounding whitespace removed.
func (e *env) get(name string) string {
	return strings.TrimSpace(e.getenv(name))
}

func (e *env) fail(name string, err error) {
	e.errs = append(e.errs, &EnvError{Var: name, Err: err})
}

// parse runs fn on the variable's value (empty when unset) and records its
// error; an error made by errors.Join (one per list item) is recorded as
// one problem per item, so each names the variable. fn returns its default
// for an empty value.
func parse[T any](e *env, name string, fn func(string) (T, error)) T {
	v, err := fn(e.get(name))
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, err := range joined.Unwrap() {
			e.fail(name, err)
		}
	} else if err != nil {
		e.fail(name, err)
	}
	return v
}

// parseBool accepts true/false, 1/0, yes/no and on/off, in any case;
// empty is false.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "":
		return false, nil
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
}

func parseEmail(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(v)
	if err != nil {
		return "", fmt.Errorf("%q is not an e-mail address: %v", v, err)
	}
	if strings.EqualFold(addr.Address, seedDefaultEmail) {
		return "", nil
	}
	return addr.Address, nil
}

func parseDirectoryURL(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL (e.g. %s)", v, LetsEncryptProduction)
	}
	return v, nil
}

// splitList splits on the OS path-list separator and on commas.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == os.PathListSeparator || r == ','
	})
}

func parseCAFiles(v string) ([]string, error) {
	var files []string
	var errs []error
	seen := map[string]bool{}
	for _, f := range splitList(v) {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		if err := checkCAFile(f); err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return files, nil
}

// checkCAFile checks that file is readable and holds at least one PEM
// certificate, every one of which parses.
func checkCAFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%q: %v", file, err)
	}
	count := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("%q: certificate %d: %v", file, count+1, err)
		}
		count++
	}
	if count == 0 {
		return fmt.Errorf("%q holds no PEM certificate", file)
	}
	return nil
}

func parseProvider(v string) (string, error) {
	p := strings.ToLower(v)
	for _, c := range []byte(p) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return DefaultProvider, fmt.Errorf("%q is not a DNS provider name (letters, digits, '-', '_', '.')", v)
		}
	}
	return p, nil
}

func parseKeyType(v string) (cert.KeyType, error) {
	if v == "" {
		return DefaultKeyType, nil
	}
	k, err := cert.ParseKeyType(v)
	if err != nil {
		return DefaultKeyType, err
	}
	return k, nil
}

func parseProfile(v string) (string, error) {
	for _, c := range []byte(v) {
		if c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("%q is not an ACME profile name (e.g. classic, tlsserver, shortlived)", v)
		}
	}
	return v, nil
}

func parseDir(v string) (string, error) {
	if v == "" {
		return DefaultDir, nil
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return DefaultDir, fmt.Errorf("%q: %v", v, err)
	}
	return abs, nil
}

func parseResolvers(v string) ([]string, error) {
	var out []string
	var errs []error
	seen := map[string]bool{}
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || isSpace(r) || r == '\n' })
	for _, f := range fields {
		hp, err := parseResolver(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[hp] {
			seen[hp] = true
			out = append(out, hp)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// dockerEmbeddedDNS is the resolver Docker gives containers on user-defined
// networks; it must never be used for propagation checks (traefik#13697).
const dockerEmbeddedDNS = "127.0.0.11"

// parseResolver turns "host", "host:port", "[v6]", "[v6]:port" or a bare
// IPv6 address into "host:port", port 53 by default.
func parseResolver(s string) (string, error) {
	host, port := s, "53"
	switch {
	case strings.HasPrefix(s, "["):
		inner, rest, ok := strings.Cut(s[1:], "]")
		if !ok {
			return "", fmt.Errorf("%q: missing \"]\"", s)
		}
		host = inner
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return "", fmt.Errorf("%q: expected \":port\" after \"]\"", s)
			}
			port = p
		}
		if !strings.Contains(host, ":") || net.ParseIP(stripZone(host)) == nil {
			return "", fmt.Errorf("%q: only IPv6 addresses go in brackets", s)
		}
	case strings.Count(s, ":") > 1:
		if net.ParseIP(stripZone(s)) == nil {
			return "", fmt.Errorf("%q is not an IPv6 address (write [address]:port to give a port)", s)
		}
	case strings.Contains(s, ":"):
		host, port, _ = strings.Cut(s, ":")
	}
	if err := checkResolverHost(host); err != nil {
		return "", fmt.Errorf("%q: %v", s, err)
	}
	if host == dockerEmbeddedDNS {
		return "", fmt.Errorf("%q is Docker's embedded DNS, which caches and forwards: it cannot tell whether a record has propagated; give the zone's authoritative servers or a public resolver", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return net.JoinHostPort(host, strconv.FormatUint(n, 10)), nil
}

func stripZone(host string) string {
	addr, _, _ := strings.Cut(host, "%")
	return addr
}

// checkResolverHost accepts an IP address or a host name.
func checkResolverHost(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	if net.ParseIP(stripZone(host)) != nil {
		return nil
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if label == "" {
			return fmt.Errorf("%q is not a host name or IP address", host)
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a host name or IP address", host)
			}
		}
	}
	return nil
}

func parseSleep(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number of seconds (e.g. 30)", v)
	}
	if n > maxSleepSeconds {
		return 0, fmt.Errorf("%q: more than a day (%d seconds)", v, maxSleepSeconds)
	}
	return time.Duration(n) * time.Second, nil
}

func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("%q is not a log level (debug, info, warn or error)", v)
}

func parseLogFormat(v string) (string, error) {
	switch f := strings.ToLower(v); f {
	case "":
		return "text", nil
	case "text", "json":
		return f, nil
	}
	return "text", fmt.Errorf("%q is not a log format (text or json)", v)
}

// modeOr returns a parser of octal permissions such as "0640" or "640"
// whose default is def.
func modeOr(def fs.FileMode) func(string) (fs.FileMode, error) {
	return func(v string) (fs.FileMode, error) {
		if v == "" {
			return def, nil
		}
		m, err := parseMode(v)
		if err != nil {
			return def, err
		}
		return m, nil
	}
}

// parseMode reads an octal permission such as "0640" or "640".
func parseMode(v string) (fs.FileMode, error) {
	digits := v
	if rest, ok := strings.CutPrefix(strings.ToLower(v), "0o"); ok {
		digits = rest
	}
	n, err := strconv.ParseUint(digits, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not an octal file mode (e.g. 0640)", v)
	}
	if n > 0o777 {
		return 0, fmt.Errorf("%q has bits other than the permission bits (at most 0777)", v)
	}
	return fs.FileMode(n), nil
}

func parseWorkers(v string) (int, error) {
	if v == "" {
		return DefaultWorkers, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxWorkers {
		return DefaultWorkers, fmt.Errorf("%q is not a number from 1 to %d", v, maxWorkers)
	}
	return n, nil
}

func parseCheckInterval(v string) (time.Duration, error) {
	if v == "" {
		return DefaultCheckInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return DefaultCheckInterval, fmt.Errorf("%q is not a duration (e.g. 30m, 1h, 12h)", v)
	}
	if d < minCheckInterval {
		return DefaultCheckInterval, fmt.Errorf("%q is shorter than %v", v, minCheckInterval)
	}
	return d, nil
}

// parseEABHMAC checks that the MAC key is base64url and returns it without
// padding. The value is secret: messages never include it.
func parseEABHMAC(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	key := strings.TrimRight(v, "=")
	if key == "" {
		return "", errors.New("is empty once padding is removed")
	}
	if _, err := base64.RawURLEncoding.DecodeString(key); err != nil {
		return "", errors.New("is not base64url-encoded (value not shown)")
	}
	return key, nil
}

// KV is one line of a settings listing.
type KV struct {
	Key   string
	Value string
}

// Summary lists the effective settings, in a stable order, for
// "certdock check". Secrets are masked.
func (c *Config) Summary() []KV {
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	email := c.Email
	if email == "" {
		email = "(none: account registered without contact)"
	}
	provider := c.Provider + " (default)"
	if c.ProviderVar != "" {
		provider = fmt.Sprintf("%s (from %s)", c.Provider, c.ProviderVar)
	}
	sleep := "0 (no fixed wait)"
	if c.SleepTime > 0 {
		sleep = c.SleepTime.String()
	}
	hmac := "(none)"
	if c.EABHMAC != "" {
		hmac = "***"
	}
	pfxPass := "(none)"
	if c.PFXPassphrase != "" {
		pfxPass = "***"
	}
	pfxEncoding := PFXModern
	if c.PFXLegacy {
		pfxEncoding = PFXLegacy
	}
	return []KV{
		{"email", email},
		{"acme directory", c.DirectoryURL},
		{"staging", strconv.FormatBool(c.Staging)},
		{"ca certificates", orNone(strings.Join(c.CACertificates, ", "))},
		{"challenge", challengeText(c)},
		{"dns provider", provider},
		{"key type", string(c.KeyType)},
		{"profile", orNone(c.Profile)},
		{"data directory", c.Dir},
		{"domains file", c.DomainsFile()},
		{"dns resolvers", orNone(strings.Join(c.Resolvers, ", "))},
		{"sleep time", sleep},
		{"log level", strings.ToLower(c.LogLevel.String())},
		{"log format", c.LogFormat},
		{"dirs mode", fmt.Sprintf("%04o", uint32(c.DirsMode.Perm()))},
		{"files mode", fmt.Sprintf("%04o", uint32(c.FilesMode.Perm()))},
		{"workers", strconv.Itoa(c.Workers)},
		{"check interval", c.CheckInterval.String()},
		{"listen", orNone(c.Listen)},
		{"label prefix", c.LabelPrefix},
		{"allowed domains", allowedText(c.AllowedDomains)},
		{"traefik labels", strconv.FormatBool(c.TraefikLabels)},
		{"dnsrobocert config", orNone(c.DnsrobocertConfig)},
		{"cluster provider", c.Cluster},
		{"state", stateText(c)},
		{"eab kid", orNone(c.EABKID)},
		{"eab hmac", hmac},
		{"renewal schedule", orNone(c.Cron.String())},
		{"time zone", c.Location.String()},
		{"pfx export", strconv.FormatBool(c.PFXExport)},
		{"pfx passphrase", pfxPass},
		{"pfx encoding", pfxEncoding},
		{"certs user owner", ownerText(c.UID)},
		{"certs group owner", ownerText(c.GID)},
		{"deploy hook", orNone(c.DeployHook)},
		{"revoke removed", strconv.FormatBool(c.RevokeRemoved)},
		{"label grace", durationText(c.LabelGrace)},
		{"on failure", orNone(quoteArgv(c.OnFailure))},
		{"reuse key", strconv.FormatBool(c.ReuseKey)},
		{"delegated domain", orNone(c.DelegatedDomain)},
		{"delegated subdomain", orNone(c.DelegatedSubdomain)},
	}
}

func allowedText(a *labels.Allowlist) string {
	if a == nil {
		return "(any: labels may request every name)"
	}
	return a.String()
}

// stateText says where state lives, for check.
func stateText(c *Config) string {
	switch {
	case c.State == StateSwarm:
		return "swarm (key from " + c.StateKeyFile + ")"
	case c.StateKeyMissing:
		return "local (CERTDOCK_STATE_KEY_FILE is not set: the state stays on this node's volume)"
	}
	return "local"
}
