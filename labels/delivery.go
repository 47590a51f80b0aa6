package labels

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/certdock/certdock/cert"
)

// secretOptions are the keys that refine certdock.secrets.
var secretOptions = []string{KeySecretsDir, KeySecretsUID, KeySecretsGID, KeySecretsMode}

// attachDelivery reads certdock.secrets and its options and, when a
// delivery is wanted and every option is valid, attaches one
// cert.Delivery to each spec, with the defaults filled in. A problem
// only ever costs the delivery: the specs (the certificates and the
// workload's action) stay as they are.
func attachDelivery(prefix string, w Workload, get func(string) (string, bool), specs []cert.Spec) []error {
	bad := func(k string, err error) error {
		return &Error{Workload: w.String(), Label: prefix + "." + k, Err: err}
	}
	on := false
	if raw, ok := get(KeySecrets); ok {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return []error{bad(KeySecrets, fmt.Errorf("%q is not true or false", raw))}
		}
		on = b
	}
	if !on {
		var problems []error
		for _, k := range secretOptions {
			if _, ok := get(k); ok {
				problems = append(problems, bad(k, fmt.Errorf("has no effect without %s.%s=true", prefix, KeySecrets)))
			}
		}
		return problems
	}
	if w.Kind != Service {
		return []error{bad(KeySecrets, errors.New("Swarm secrets can only be delivered to a Swarm service (service labels, compose deploy.labels); mount the certificate directory into a container instead"))}
	}
	if len(specs) == 0 {
		return []error{bad(KeySecrets, fmt.Errorf("no certificate to deliver: add %s.%s or %s.%s", prefix, KeyDomains, prefix, KeyCert))}
	}

	d := cert.Delivery{Kind: cert.DeliverSecrets, Service: w.Name, UID: "0", GID: "0",
		Mode: cert.DefaultDeliveryMode, KeyMode: cert.DefaultDeliveryKeyMode}
	var problems []error
	dir, dirSet := get(KeySecretsDir)
	if dirSet {
		if err := checkDir(dir); err != nil {
			problems = append(problems, bad(KeySecretsDir, err))
		} else if len(specs) > 1 {
			problems = append(problems, bad(KeySecretsDir, fmt.Errorf("%d certificates (%s) would share one directory: remove it to get a directory per certificate, named after it", len(specs), specNames(specs))))
		}
	}
	if v, ok := get(KeySecretsUID); ok {
		id, err := parseID(v)
		if err != nil {
			problems = append(problems, bad(KeySecretsUID, err))
		}
		d.UID = id
	}
	if v, ok := get(KeySecretsGID); ok {
		id, err := parseID(v)
		if err != nil {
			problems = append(problems, bad(KeySecretsGID, err))
		}
		d.GID = id
	}
	if v, ok := get(KeySecretsMode); ok {
		m, err := parseMode(v)
		if err != nil {
			problems = append(problems, bad(KeySecretsMode, err))
		}
		d.Mode, d.KeyMode = m, m
	}
	if len(problems) > 0 {
		return problems
	}
	for i := range specs {
		sd := d
		sd.Dir = specs[i].Name
		if dirSet {
			sd.Dir = dir
		}
		specs[i].Deliveries = append(specs[i].Deliveries, sd)
	}
	return nil
}

func specNames(specs []cert.Spec) string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// checkDir accepts a directory inside the workload: relative (to
// /run/secrets) or absolute, clean, without "..", empty components,
// control characters or backslashes, and not "/" itself.
func checkDir(dir string) error {
	switch {
	case dir == "":
		return errors.New("empty: give a directory relative to /run/secrets, or an absolute one")
	case !utf8.ValidString(dir):
		return fmt.Errorf("%q is not valid UTF-8", dir)
	case strings.ContainsFunc(dir, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }):
		return fmt.Errorf("%q contains a control character or a backslash", dir)
	case dir == "/":
		return errors.New("the root directory: give a directory below it")
	}
	for _, part := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		switch part {
		case "..":
			return fmt.Errorf("%q must not contain \"..\"", dir)
		case "":
			return fmt.Errorf("%q has an empty path component (\"//\" or a trailing \"/\")", dir)
		}
	}
	if c := path.Clean(dir); c != dir {
		return fmt.Errorf("%q is not a clean path: write %q", dir, c)
	}
	return nil
}

// parseID accepts a numeric user or group ID and returns it in decimal
// without leading zeros. Swarm does not resolve names, and -1 (4294967295)
// means "no ID" to the kernel.
func parseID(v string) (string, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return "", fmt.Errorf("%q is not a numeric ID: give a non-negative integer below 4294967295 (Swarm does not resolve user or group names)", v)
	}
	return strconv.FormatUint(n, 10), nil
}

// parseMode reads a file permission in octal ("0440" or "440"): octal
// digits only, at most 0777. Setuid, setgid and sticky bits are refused:
// they mean nothing on a mounted secret.
func parseMode(v string) (fs.FileMode, error) {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r < '0' || r > '7' }) {
		return 0, fmt.Errorf("%q is not an octal mode (like 0440)", v)
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("%q: only permission bits are allowed (at most 0777)", v)
	}
	return fs.FileMode(n), nil
}
