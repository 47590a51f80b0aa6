package dnsrobocert

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certdock/certdock/cert"
	"github.com/certdock/certdock/dnsprofile"
	"github.com/certdock/certdock/internal/shellwords"
	"github.com/certdock/certdock/lexicon"
)

// Env returns the acme section as the certdock (seed) variables it stands
// for, only those it sets: LETSENCRYPT_USER_MAIL, LETSENCRYPT_STAGING,
// ACME_DIRECTORY_URL, CERTS_FILES_MODE, CERTS_DIRS_MODE,
// CERTS_USER_OWNER, CERTS_GROUP_OWNER, CRON_TIME_STRING, CERTDOCK_DIR
// (certs_root_path). The real
// environment wins over them.
func (c *Config) Env() map[string]string {
	env := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			env[k] = v
		}
	}
	a := c.ACME
	set("LETSENCRYPT_USER_MAIL", a.EmailAccount)
	if a.Staging {
		set("LETSENCRYPT_STAGING", "true")
	}
	set("ACME_DIRECTORY_URL", a.DirectoryURL)
	set("CERTS_FILES_MODE", a.Permissions.FilesMode)
	set("CERTS_DIRS_MODE", a.Permissions.DirsMode)
	set("CERTS_USER_OWNER", a.Permissions.User)
	set("CERTS_GROUP_OWNER", a.Permissions.Group)
	set("CRON_TIME_STRING", a.CrontabRenew)
	set("CERTDOCK_DIR", a.CertsRootPath)
	return env
}

// DNSProfiles turns the profiles into certdock's DNS profiles, which have
// no zones: dnsrobocert's certificates name their profile. A provider
// whose options are all upper-case names is a lego provider and its
// options are lego variables; otherwise it is a Lexicon provider, and its
// options are translated as LEXICON_<PROVIDER>_<OPTION> variables are (a
// lexicon.yml beside config.yml is read too, as Lexicon would). ttl sets
// the lego provider's <PREFIX>_TTL; sleep_time is the fixed wait before
// the propagation check; max_checks is accepted (certdock checks
// propagation until the provider's timeout). Problems name the profile's
// line.
func (c *Config) DNSProfiles() ([]dnsprofile.Profile, []error) {
	var out []dnsprofile.Profile
	var errs []error
	for i, p := range c.Profiles {
		path := fmt.Sprintf("profiles[%d]", i)
		dp := dnsprofile.Profile{Name: p.Name, Origin: fmt.Sprintf("%s:%d", c.File, p.Line), Vars: map[string]string{}}
		if p.SleepTime != nil {
			dp.SleepTime = time.Duration(*p.SleepTime) * time.Second
		}
		if p.DelegatedSubdomain != "" {
			d, err := cert.NormalizeDomain(p.DelegatedSubdomain)
			if err != nil {
				errs = append(errs, &Error{File: c.File, Line: p.Line, Path: path + ".delegated_subdomain", Err: err})
				continue
			}
			dp.DelegatedSubdomain = d
		}
		if legoOptions(p.Options) {
			dp.Provider = strings.ToLower(p.Provider)
			for k, v := range p.Options {
				dp.Vars[k] = v
			}
		} else {
			tr, err := c.translate(p)
			if err != nil {
				errs = append(errs, &Error{File: c.File, Line: p.Line, Path: path + ".provider_options", Err: err})
				continue
			}
			dp.Provider = tr.Provider
			for _, v := range tr.Env {
				dp.Vars[v.Name] = v.Value
			}
		}
		if p.TTL != nil {
			dp.Vars[strings.ToUpper(strings.ReplaceAll(dp.Provider, "-", "_"))+"_TTL"] = fmt.Sprint(*p.TTL)
		}
		out = append(out, dp)
	}
	return out, errs
}

// legoOptions reports whether options are lego variables (upper case).
func legoOptions(options map[string]string) bool {
	if len(options) == 0 {
		return false
	}
	for k := range options {
		if k != strings.ToUpper(k) {
			return false
		}
	}
	return true
}

// translate runs the Lexicon translation on a profile's options, as if
// they were LEXICON_<PROVIDER>_<OPTION> variables and nothing else.
func (c *Config) translate(p Profile) (*lexicon.Translation, error) {
	if _, ok := lexicon.LegoProviderName(p.Provider); !ok && len(p.Options) == 0 {
		// A lego provider without options (credentials from _FILE
		// variables or an instance role).
		return &lexicon.Translation{Provider: strings.ToLower(p.Provider)}, nil
	}
	env := map[string]string{}
	prefix := "LEXICON_" + strings.ToUpper(strings.ReplaceAll(p.Provider, "-", "_")) + "_"
	for k, v := range p.Options {
		env[prefix+strings.ToUpper(k)] = v
	}
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	return lexicon.Translate(p.Provider, func(k string) string { return env[k] }, environ, filepath.Dir(c.File))
}

// Specs returns the desired certificates (none in draft mode, which only
// validates). A certificate uses its profile (by name), dnsrobocert's
// key type (rsa by default: RSA 2048, certbot's; ecdsa: P-256), and
// restarts its autorestart containers (or force-updates its
// swarm_services) and runs its autocmd commands after each new version.
// deploy_hook, pfx, reuse_key and force_renew are not part of the spec:
// the caller reads them from Certificates. podman_containers is reported
// as a problem naming its line; the certificate itself is still served.
func (c *Config) Specs() ([]cert.Spec, []error) {
	if c.Draft {
		return nil, nil
	}
	var specs []cert.Spec
	var problems []error
	for i, ct := range c.Certificates {
		path := fmt.Sprintf("certificates[%d]", i)
		fail := func(sub string, err error) {
			problems = append(problems, &Error{File: c.File, Line: ct.Line, Path: path + sub, Err: err})
		}
		s := cert.Spec{Name: ct.Lineage(), Domains: slices.Clone(ct.Domains), DNSProfile: ct.Profile,
			Source: cert.Source{Kind: cert.FromFile, File: c.File, Line: ct.Line}, KeyType: cert.RSA2048}
		if ct.KeyType == "ecdsa" {
			s.KeyType = cert.EC256
		}
		if d, w, ok := covered(s.Domains); ok {
			fail(".domains", fmt.Errorf("%s is already covered by %s; the CA refuses a certificate that lists both", d, w))
			continue
		}
		for _, a := range ct.Autorestart {
			for _, n := range a.Containers {
				s.Actions = append(s.Actions, cert.Action{Kind: cert.Restart, Target: n})
			}
			for _, n := range a.SwarmServices {
				s.Actions = append(s.Actions, cert.Action{Kind: cert.Restart, Target: n, Service: true})
			}
			if len(a.PodmanContainers) > 0 {
				fail(".autorestart", errors.New("podman_containers: certdock talks to Docker only (restart them with a deploy hook)"))
			}
		}
		for _, a := range ct.Autocmd {
			argv := a.Cmd
			if a.Shell != "" {
				var err error
				if argv, err = shellwords.Split(a.Shell); err != nil {
					fail(".autocmd", err)
					continue
				}
			}
			if len(argv) == 0 {
				fail(".autocmd", errors.New("cmd is empty"))
				continue
			}
			for _, n := range a.Containers {
				s.Actions = append(s.Actions, cert.Action{Kind: cert.Exec, Target: n, Command: slices.Clone(argv)})
			}
		}
		if len(ct.Domains) > cert.MaxNames {
			fail(".domains", fmt.Errorf("%d names; the CA's limit is %d per certificate", len(ct.Domains), cert.MaxNames))
			continue
		}
		specs = append(specs, s)
	}
	return specs, problems
}

// covered finds a name of domains that a wildcard of domains covers.
func covered(domains []string) (string, string, bool) {
	for _, d := range domains {
		for _, w := range domains {
			if d != w && cert.CoveredBy(d, w) {
				return d, w, true
			}
		}
	}
	return "", "", false
}
