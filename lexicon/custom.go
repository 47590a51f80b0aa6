package lexicon

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// This file holds the translations of Lexicon options that are not a plain
// copy into one lego variable.

// translateCloudflare: Lexicon's cloudflare takes auth_username (the
// account's e-mail) with auth_token (then the Global API key), or
// auth_token alone (then an API token).
func translateCloudflare(t *lexiconTranslator) {
	user, hasUser := t.opt("auth_username")
	token, hasToken := t.opt("auth_token")
	switch {
	case hasUser && hasToken:
		t.set("CLOUDFLARE_EMAIL", user.value, user.from)
		t.set("CLOUDFLARE_API_KEY", token.value, token.from)
	case hasToken:
		t.set("CLOUDFLARE_DNS_API_TOKEN", token.value, token.from)
	case hasUser && t.setBy("CLOUDFLARE_API_KEY") != "":
		t.set("CLOUDFLARE_EMAIL", user.value, user.from)
	case hasUser:
		t.failf(user.from, "Lexicon's cloudflare option auth_username (the account's e-mail) needs auth_token (the Global API key) with it; or give only an API token, in auth_token or in CLOUDFLARE_DNS_API_TOKEN")
	}
}

// translateRoute53: the access key is auth_access_key, else auth_username;
// the secret is auth_access_secret, else auth_token. lego's AWS SDK also
// needs a region, which boto3 (Lexicon's) did not for Route 53.
func translateRoute53(t *lexiconTranslator) {
	for _, pair := range [][3]string{
		{"auth_access_key", "auth_username", "AWS_ACCESS_KEY_ID"},
		{"auth_access_secret", "auth_token", "AWS_SECRET_ACCESS_KEY"},
	} {
		if s, ok := t.opt(pair[0]); ok {
			t.set(pair[2], s.value, s.from)
		} else if s, ok := t.opt(pair[1]); ok {
			t.set(pair[2], s.value, s.from)
		}
	}
	if region := strings.TrimSpace(t.getenv("AWS_DEFAULT_REGION")); region != "" {
		t.set("AWS_REGION", region, "AWS_DEFAULT_REGION (boto3 reads it; lego's AWS SDK reads AWS_REGION)")
	} else {
		t.set("AWS_REGION", "us-east-1", "default for Lexicon's route53: lego's AWS SDK needs a region, and Route 53 is global")
	}
}

// translateGandi: Lexicon sends a token of up to 24 characters as an API
// key, a longer one as a personal access token; lego's gandiv5 has a
// variable for each. Lexicon's default protocol was Gandi's XML-RPC API;
// lego's gandiv5 uses the LiveDNS REST API.
func translateGandi(t *lexiconTranslator) {
	protocol := "rpc"
	if s, ok := t.opt("api_protocol"); ok {
		protocol = strings.ToLower(s.value)
		if protocol != "rpc" && protocol != "rest" {
			t.failf(s.from, "Lexicon's gandi option api_protocol is %q; it must be rpc or rest", s.value)
			return
		}
	}
	token, ok := t.opt("auth_token")
	if !ok {
		return
	}
	if len(token.value) <= 24 {
		t.set("GANDIV5_API_KEY", token.value, token.from)
	} else {
		t.set("GANDIV5_PERSONAL_ACCESS_TOKEN", token.value, token.from)
	}
	if protocol == "rpc" {
		t.notef("%s: Lexicon's gandi used Gandi's XML-RPC API (api_protocol rpc, its default); lego's gandiv5 uses the LiveDNS REST API: if Gandi refuses the key, create a personal access token and set GANDIV5_PERSONAL_ACCESS_TOKEN", token.from)
	}
}

// translateGoogleCloudDNS: auth_service_account_info is "file::PATH" or
// "base64::CONTENT" (the service account's JSON key).
func translateGoogleCloudDNS(t *lexiconTranslator) {
	s, ok := t.opt("auth_service_account_info")
	if !ok {
		return
	}
	if path, ok := strings.CutPrefix(s.value, "file::"); ok {
		t.set("GCE_SERVICE_ACCOUNT_FILE", t.path(path), s.from)
		return
	}
	if content, ok := strings.CutPrefix(s.value, "base64::"); ok {
		data, err := decodeBase64(content)
		if err != nil || !json.Valid(data) {
			t.failf(s.from, "Lexicon's googleclouddns option auth_service_account_info: the text after base64:: is not a base64-encoded JSON key")
			return
		}
		t.set("GCE_SERVICE_ACCOUNT", string(data), s.from)
		return
	}
	t.failf(s.from, "Lexicon's googleclouddns option auth_service_account_info must be file::PATH or base64::CONTENT; or set GCE_SERVICE_ACCOUNT_FILE to the key file's path")
}

// translateTransIP: auth_api_key is the private key's path, or
// "base64::CONTENT"; lego only reads the key from a file.
func translateTransIP(t *lexiconTranslator) {
	s, ok := t.opt("auth_api_key")
	if !ok {
		return
	}
	if strings.HasPrefix(s.value, "base64::") {
		t.failf(s.from, "Lexicon's transip option auth_api_key holds the key itself (base64::...), but lego's transip provider reads it from a file: write the PEM key to a file and set TRANSIP_PRIVATE_KEY_PATH to its path")
		return
	}
	t.set("TRANSIP_PRIVATE_KEY_PATH", t.path(s.value), s.from)
}

// translateDDNS: auth_token is "ALGORITHM:KEY_NAME:SECRET", a TSIG key.
func translateDDNS(t *lexiconTranslator) {
	s, ok := t.opt("auth_token")
	if !ok {
		return
	}
	parts := strings.Split(s.value, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		t.failf(s.from, "Lexicon's ddns option auth_token must be ALGORITHM:KEY_NAME:SECRET (e.g. hmac-sha256:acme:c2VjcmV0); or set DNSUPDATE_TSIG_ALGORITHM, DNSUPDATE_TSIG_KEY and DNSUPDATE_TSIG_SECRET")
		return
	}
	t.set("DNSUPDATE_TSIG_ALGORITHM", strings.ToLower(parts[0]), s.from+" (algorithm)")
	t.set("DNSUPDATE_TSIG_KEY", parts[1], s.from+" (key name)")
	t.set("DNSUPDATE_TSIG_SECRET", parts[2], s.from+" (secret)")
}

// translateInfoblox: Lexicon's view defaults to "default", lego's to
// "External".
func translateInfoblox(t *lexiconTranslator) {
	if s, ok := t.opt("ib_view"); ok {
		t.set("INFOBLOX_DNS_VIEW", s.value, s.from)
	} else if len(t.opts) > 0 {
		t.set("INFOBLOX_DNS_VIEW", "default", "Lexicon's default for infoblox's ib_view (lego's is External)")
	}
}

// translateZonomi: auth_entrypoint picks Zonomi or RimuHosting, which lego
// has as two providers.
func translateZonomi(t *lexiconTranslator) {
	if s, ok := t.opt("auth_entrypoint"); ok {
		switch strings.ToLower(s.value) {
		case "zonomi":
		case "rimuhosting":
			t.lego, t.ttl = "rimuhosting", "RIMUHOSTING_TTL"
		default:
			t.failf(s.from, "Lexicon's zonomi option auth_entrypoint is %q; it must be zonomi or rimuhosting", s.value)
			return
		}
	}
	if s, ok := t.opt("auth_token"); ok {
		t.set(strings.ToUpper(t.lego)+"_API_KEY", s.value, s.from)
	}
}

// translateLinodeV3: Lexicon's linode provider spoke Linode's API v3;
// lego speaks v4, like Lexicon's linode4.
func translateLinodeV3(t *lexiconTranslator) {
	if s, ok := t.opt("auth_token"); ok {
		t.notef("%s: Lexicon's linode provider used Linode's retired API v3; lego uses API v4, so LINODE_TOKEN must be a v4 personal access token (with Domains read/write)", s.from)
	}
}

// path makes a path from a Lexicon option absolute: the seed ran Lexicon
// in its data directory.
func (t *lexiconTranslator) path(p string) string {
	if p == "" || filepath.IsAbs(p) || t.dir == "" {
		return p
	}
	return filepath.Join(t.dir, p)
}

// decodeBase64 accepts standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err := enc.DecodeString(s); err == nil {
			return data, nil
		}
	}
	return nil, errors.New("not base64")
}

// normalizeBool turns a boolean written true/false, 1/0, yes/no or on/off,
// in any case, into "true" or "false"; empty is false.
func normalizeBool(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return "true", nil
	case "", "false", "0", "no", "off":
		return "false", nil
	}
	return "", fmt.Errorf("%q is not a boolean (use true or false)", strings.TrimSpace(v))
}

// route53PrivateZone reads private_zone as Lexicon's route53 did: true or
// yes (any case) mean true, anything else false.
func route53PrivateZone(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes":
		return "true", nil
	}
	return "false", nil
}

// dnsimpleBaseURL turns Lexicon's API endpoint, which ends in /v2, into
// lego's base URL, which does not.
func dnsimpleBaseURL(v string) (string, error) {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	return strings.TrimSuffix(v, "/v2"), nil
}

// powerDNSServerURL turns Lexicon's pdns_server, with or without /api/v1,
// into lego's PDNS_API_URL, without it (lego adds it).
func powerDNSServerURL(v string) (string, error) {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	v = strings.TrimRight(strings.TrimSuffix(v, "/api/v1"), "/")
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute URL (e.g. https://pdns.example.com:8081)", v)
	}
	return v, nil
}

// hostHasLabel returns a conversion that says "true" when an endpoint URL's
// host name has the given label (api.sandbox.example.com has "sandbox"),
// else "false": lego has a sandbox switch where Lexicon took an endpoint.
func hostHasLabel(label string) func(string) (string, error) {
	return func(v string) (string, error) {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%q is not an absolute URL", v)
		}
		for _, l := range strings.Split(strings.ToLower(u.Hostname()), ".") {
			if l == label {
				return "true", nil
			}
		}
		return "false", nil
	}
}
