package lexicon

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// lexiconEnv is a fake environment for Translate: its getenv and
// its os.Environ form.
func lexiconEnv(m map[string]string) (func(string) string, []string) {
	var environ []string
	for k, v := range m {
		environ = append(environ, k+"="+v)
	}
	return func(k string) string { return m[k] }, environ
}

// writeLexiconFiles writes files (name → content) into a new directory.
func writeLexiconFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// v is a Var with Secret computed as Translate does.
func v(name, value, from string) Var {
	return Var{Name: name, Value: value, From: from, Secret: legoVarIsSecret(name)}
}

const (
	cfYML         = "testdata/cloudflare-yml/lexicon.yml"
	cfProviderYML = "testdata/cloudflare-provider-yml/lexicon_cloudflare.yml"
)

func TestTranslateLexiconCloudflareSources(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		dir  string
		want []Var
	}{
		{
			name: "env api token",
			env:  map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "tok"},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "tok", "LEXICON_CLOUDFLARE_AUTH_TOKEN")},
		},
		{
			name: "env global key",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_AUTH_USERNAME": "me@example.com",
				"LEXICON_CLOUDFLARE_AUTH_TOKEN":    "key",
			},
			want: []Var{
				v("CLOUDFLARE_EMAIL", "me@example.com", "LEXICON_CLOUDFLARE_AUTH_USERNAME"),
				v("CLOUDFLARE_API_KEY", "key", "LEXICON_CLOUDFLARE_AUTH_TOKEN"),
			},
		},
		{
			// The seed README's docker run examples use Lexicon's
			// legacy names, without AUTH_.
			name: "env legacy names",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_USERNAME": "me@example.com",
				"LEXICON_CLOUDFLARE_TOKEN":    "key",
			},
			want: []Var{
				v("CLOUDFLARE_EMAIL", "me@example.com", "LEXICON_CLOUDFLARE_USERNAME"),
				v("CLOUDFLARE_API_KEY", "key", "LEXICON_CLOUDFLARE_TOKEN"),
			},
		},
		{
			name: "env AUTH_ form wins over legacy form",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_TOKEN":      "legacy",
				"LEXICON_CLOUDFLARE_AUTH_TOKEN": "current",
			},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "current", "LEXICON_CLOUDFLARE_AUTH_TOKEN")},
		},
		{
			name: "empty env value is unset",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_AUTH_TOKEN": "  ",
				"LEXICON_CLOUDFLARE_TOKEN":      "legacy",
			},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "legacy", "LEXICON_CLOUDFLARE_TOKEN")},
		},
		{
			name: "provider options with =",
			env:  map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-username=me@example.com --auth-token=key"},
			want: []Var{
				v("CLOUDFLARE_EMAIL", "me@example.com", "LEXICON_PROVIDER_OPTIONS --auth-username"),
				v("CLOUDFLARE_API_KEY", "key", "LEXICON_PROVIDER_OPTIONS --auth-token"),
			},
		},
		{
			name: "provider options with spaces and quotes",
			env:  map[string]string{"LEXICON_PROVIDER_OPTIONS": ` --auth-token  'a b'  `},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "a b", "LEXICON_PROVIDER_OPTIONS --auth-token")},
		},
		{
			name: "provider options abbreviated as argparse allows",
			env:  map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-tok=x"},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "x", "LEXICON_PROVIDER_OPTIONS --auth-tok")},
		},
		{
			name: "lexicon.yml",
			dir:  "testdata/cloudflare-yml",
			want: []Var{
				v("CLOUDFLARE_EMAIL", "admin@example.com", cfYML+" cloudflare.auth_username"),
				v("CLOUDFLARE_API_KEY", "global-api-key-from-lexicon-yml", cfYML+" cloudflare.auth_token"),
			},
		},
		{
			name: "lexicon_cloudflare.yml",
			dir:  "testdata/cloudflare-provider-yml",
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "api-token-from-lexicon-cloudflare-yml", cfProviderYML+" auth_token")},
		},
		{
			name: "nothing given",
			dir:  "testdata/does-not-exist",
		},
		{
			name: "ttl",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_AUTH_TOKEN": "tok",
				"LEXICON_PROVIDER_OPTIONS":      "--ttl 300 --name=ignored --output=QUIET",
			},
			want: []Var{
				v("CLOUDFLARE_DNS_API_TOKEN", "tok", "LEXICON_CLOUDFLARE_AUTH_TOKEN"),
				v("CLOUDFLARE_TTL", "300", "LEXICON_PROVIDER_OPTIONS --ttl"),
			},
		},
		{
			name: "zone_id is not needed",
			env:  map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "tok", "LEXICON_CLOUDFLARE_ZONE_ID": "z"},
			want: []Var{v("CLOUDFLARE_DNS_API_TOKEN", "tok", "LEXICON_CLOUDFLARE_AUTH_TOKEN")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, environ := lexiconEnv(tt.env)
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
			}
			got, err := Translate("cloudflare", getenv, environ, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Provider != "cloudflare" {
				t.Errorf("Provider = %q, want cloudflare", got.Provider)
			}
			if !reflect.DeepEqual(got.Env, tt.want) {
				t.Errorf("Env =\n%#v\nwant\n%#v", got.Env, tt.want)
			}
		})
	}
}

func TestTranslateLexiconPrecedence(t *testing.T) {
	files := map[string]string{
		"lexicon.yml":            "cloudflare:\n  auth_token: from-lexicon-yml\n",
		"lexicon_cloudflare.yml": "auth_token: from-provider-yml\n",
	}
	env := "LEXICON_CLOUDFLARE_AUTH_TOKEN"
	args := "LEXICON_PROVIDER_OPTIONS"
	tests := []struct {
		name     string
		files    []string
		env      map[string]string
		want     string
		wantFrom string
	}{
		{"lexicon.yml alone", []string{"lexicon.yml"}, nil, "from-lexicon-yml", "lexicon.yml cloudflare.auth_token"},
		{"provider file beats lexicon.yml", []string{"lexicon.yml", "lexicon_cloudflare.yml"}, nil, "from-provider-yml", "lexicon_cloudflare.yml auth_token"},
		{"environment beats files", []string{"lexicon.yml", "lexicon_cloudflare.yml"}, map[string]string{env: "from-env"}, "from-env", env},
		{"legacy environment beats files", []string{"lexicon_cloudflare.yml"}, map[string]string{"LEXICON_CLOUDFLARE_TOKEN": "from-legacy-env"}, "from-legacy-env", "LEXICON_CLOUDFLARE_TOKEN"},
		{"command line beats environment", []string{"lexicon.yml", "lexicon_cloudflare.yml"}, map[string]string{env: "from-env", args: "--auth-token=from-args"}, "from-args", "LEXICON_PROVIDER_OPTIONS --auth-token"},
		{"last on the command line wins", nil, map[string]string{args: "--auth-token=first --auth-token second"}, "second", "LEXICON_PROVIDER_OPTIONS --auth-token"},
		{"empty value falls through", []string{"lexicon.yml"}, map[string]string{env: "", args: "--auth-token="}, "from-lexicon-yml", "lexicon.yml cloudflare.auth_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chosen := map[string]string{}
			for _, f := range tt.files {
				chosen[f] = files[f]
			}
			dir := writeLexiconFiles(t, chosen)
			getenv, environ := lexiconEnv(tt.env)
			got, err := Translate("cloudflare", getenv, environ, dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Env) != 1 {
				t.Fatalf("Env = %+v, want one variable", got.Env)
			}
			e := got.Env[0]
			if e.Name != "CLOUDFLARE_DNS_API_TOKEN" || e.Value != tt.want || !e.Secret || e.Kept {
				t.Errorf("got %+v, want CLOUDFLARE_DNS_API_TOKEN=%s", e, tt.want)
			}
			wantFrom := tt.wantFrom
			if strings.HasSuffix(wantFrom, ".yml") || strings.Contains(wantFrom, ".yml ") {
				wantFrom = filepath.Join(dir, wantFrom)
			}
			if e.From != wantFrom {
				t.Errorf("From = %q, want %q", e.From, wantFrom)
			}
		})
	}
}

func TestTranslateLexiconKeepsEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantKept map[string]string // lego variable → what the From must name
		wantSet  []string
	}{
		{
			name:     "same variable",
			env:      map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "lexicon", "CLOUDFLARE_DNS_API_TOKEN": "real"},
			wantKept: map[string]string{"CLOUDFLARE_DNS_API_TOKEN": "CLOUDFLARE_DNS_API_TOKEN is set in the environment"},
		},
		{
			name:     "_FILE form",
			env:      map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "lexicon", "CLOUDFLARE_DNS_API_TOKEN_FILE": "/run/secrets/cf"},
			wantKept: map[string]string{"CLOUDFLARE_DNS_API_TOKEN": "CLOUDFLARE_DNS_API_TOKEN_FILE"},
		},
		{
			name:     "lego's alias",
			env:      map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "lexicon", "CF_DNS_API_TOKEN": "real"},
			wantKept: map[string]string{"CLOUDFLARE_DNS_API_TOKEN": "CF_DNS_API_TOKEN"},
		},
		{
			// lego prefers e-mail + global key to a token: translating
			// them would override the token the user set for lego.
			name: "variable lego prefers",
			env: map[string]string{
				"LEXICON_PROVIDER_OPTIONS": "--auth-username=me@example.com --auth-token=key",
				"CLOUDFLARE_DNS_API_TOKEN": "real",
			},
			wantKept: map[string]string{"CLOUDFLARE_EMAIL": "CLOUDFLARE_DNS_API_TOKEN", "CLOUDFLARE_API_KEY": "CLOUDFLARE_DNS_API_TOKEN"},
		},
		{
			name: "one kept, one set",
			env: map[string]string{
				"LEXICON_CLOUDFLARE_AUTH_USERNAME": "me@example.com",
				"LEXICON_CLOUDFLARE_AUTH_TOKEN":    "key",
				"CLOUDFLARE_API_KEY":               "real",
			},
			wantKept: map[string]string{"CLOUDFLARE_API_KEY": "CLOUDFLARE_API_KEY"},
			wantSet:  []string{"CLOUDFLARE_EMAIL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, environ := lexiconEnv(tt.env)
			got, err := Translate("cloudflare", getenv, environ, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Env) != len(tt.wantKept)+len(tt.wantSet) {
				t.Fatalf("Env = %+v", got.Env)
			}
			for _, e := range got.Env {
				by, kept := tt.wantKept[e.Name]
				if e.Kept != kept {
					t.Errorf("%s: Kept = %v, want %v", e.Name, e.Kept, kept)
				}
				if !kept {
					continue
				}
				if e.Value != tt.env[e.Name] {
					t.Errorf("%s: Value = %q, want the environment's %q", e.Name, e.Value, tt.env[e.Name])
				}
				if !strings.Contains(e.From, by) || !strings.Contains(e.From, "not applied") {
					t.Errorf("%s: From = %q, want it to say %s wins", e.Name, e.From, by)
				}
			}
		})
	}
}

// The seed README's OVH example, as environment variables, as
// LEXICON_PROVIDER_OPTIONS, and as lexicon.yml.
func TestTranslateLexiconOVH(t *testing.T) {
	want := func(from func(opt string) string) []Var {
		return []Var{
			v("OVH_ENDPOINT", "ovh-eu", from("auth_entrypoint")),
			v("OVH_APPLICATION_KEY", "my_application_key", from("auth_application_key")),
			v("OVH_APPLICATION_SECRET", "my_application_secret", from("auth_application_secret")),
			v("OVH_CONSUMER_KEY", "my_consumer_key", from("auth_consumer_key")),
		}
	}
	readmeYML := "testdata/ovh-readme/lexicon.yml"
	tests := []struct {
		name string
		env  map[string]string
		dir  string
		want []Var
	}{
		{
			name: "environment",
			env: map[string]string{
				"LEXICON_OVH_AUTH_ENTRYPOINT":         "ovh-eu",
				"LEXICON_OVH_AUTH_APPLICATION_KEY":    "my_application_key",
				"LEXICON_OVH_AUTH_APPLICATION_SECRET": "my_application_secret",
				"LEXICON_OVH_AUTH_CONSUMER_KEY":       "my_consumer_key",
			},
			want: want(func(o string) string { return "LEXICON_OVH_" + strings.ToUpper(o) }),
		},
		{
			name: "provider options",
			env: map[string]string{
				"LEXICON_PROVIDER_OPTIONS": "--auth-entrypoint=ovh-eu --auth-application-key=my_application_key --auth-application-secret=my_application_secret --auth-consumer-key=my_consumer_key",
			},
			want: want(func(o string) string { return "LEXICON_PROVIDER_OPTIONS --" + strings.ReplaceAll(o, "_", "-") }),
		},
		{
			name: "lexicon.yml",
			dir:  "testdata/ovh-readme",
			want: want(func(o string) string { return readmeYML + " ovh." + o }),
		},
		{
			name: "lexicon_ovh.yml, environment on top",
			dir:  "testdata/ovh-provider-yml",
			env:  map[string]string{"LEXICON_OVH_AUTH_ENTRYPOINT": "ovh-eu"},
			want: func() []Var {
				w := want(func(o string) string { return "testdata/ovh-provider-yml/lexicon_ovh.yml " + o })
				w[0].From = "LEXICON_OVH_AUTH_ENTRYPOINT"
				return w
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, environ := lexiconEnv(tt.env)
			dir := tt.dir
			if dir == "" {
				dir = t.TempDir()
			}
			got, err := Translate("ovh", getenv, environ, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Provider != "ovh" || !reflect.DeepEqual(got.Env, tt.want) {
				t.Errorf("got %s %#v\nwant ovh %#v", got.Provider, got.Env, tt.want)
			}
			if len(got.Notes) != 0 {
				t.Errorf("Notes = %q", got.Notes)
			}
		})
	}
}

// Other providers: name mapping and option translations that are more
// than a copy.
func TestTranslateLexiconProviders(t *testing.T) {
	const dir = "/etc/letsencrypt"
	sa := `{"type":"service_account","project_id":"p"}`
	tests := []struct {
		name      string
		provider  string
		env       map[string]string
		want      []Var
		wantLego  string
		wantNotes []string // substrings, one per note
	}{
		{
			name:      "gandi API key",
			provider:  "gandi",
			env:       map[string]string{"LEXICON_GANDI_AUTH_TOKEN": "0123456789abcdefghijklmn"},
			wantLego:  "gandiv5",
			want:      []Var{v("GANDIV5_API_KEY", "0123456789abcdefghijklmn", "LEXICON_GANDI_AUTH_TOKEN")},
			wantNotes: []string{"GANDIV5_PERSONAL_ACCESS_TOKEN"},
		},
		{
			name:     "gandi personal access token",
			provider: "gandi",
			env:      map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-token=pat_0123456789abcdefghijklmnopq --api-protocol=rest"},
			wantLego: "gandiv5",
			want:     []Var{v("GANDIV5_PERSONAL_ACCESS_TOKEN", "pat_0123456789abcdefghijklmnopq", "LEXICON_PROVIDER_OPTIONS --auth-token")},
		},
		{
			name:     "route53 with the alternative names",
			provider: "route53",
			env: map[string]string{
				"LEXICON_ROUTE53_AUTH_USERNAME": "AKIA",
				"LEXICON_ROUTE53_AUTH_TOKEN":    "secret",
				"LEXICON_ROUTE53_ZONE_ID":       "Z123",
				"LEXICON_ROUTE53_PRIVATE_ZONE":  "Yes",
			},
			wantLego: "route53",
			want: []Var{
				v("AWS_PRIVATE_ZONE", "true", "LEXICON_ROUTE53_PRIVATE_ZONE"),
				v("AWS_HOSTED_ZONE_ID", "Z123", "LEXICON_ROUTE53_ZONE_ID"),
				v("AWS_ACCESS_KEY_ID", "AKIA", "LEXICON_ROUTE53_AUTH_USERNAME"),
				v("AWS_SECRET_ACCESS_KEY", "secret", "LEXICON_ROUTE53_AUTH_TOKEN"),
				v("AWS_REGION", "us-east-1", "default for Lexicon's route53: lego's AWS SDK needs a region, and Route 53 is global"),
			},
		},
		{
			name:     "route53 access key wins over username, region from boto3's variable",
			provider: "route53",
			env: map[string]string{
				"LEXICON_ROUTE53_AUTH_USERNAME":      "AKIA-username",
				"LEXICON_ROUTE53_AUTH_ACCESS_KEY":    "AKIA-key",
				"LEXICON_ROUTE53_AUTH_ACCESS_SECRET": "secret",
				"AWS_DEFAULT_REGION":                 "eu-west-3",
			},
			wantLego: "route53",
			want: []Var{
				v("AWS_ACCESS_KEY_ID", "AKIA-key", "LEXICON_ROUTE53_AUTH_ACCESS_KEY"),
				v("AWS_SECRET_ACCESS_KEY", "secret", "LEXICON_ROUTE53_AUTH_ACCESS_SECRET"),
				v("AWS_REGION", "eu-west-3", "AWS_DEFAULT_REGION (boto3 reads it; lego's AWS SDK reads AWS_REGION)"),
			},
		},
		{
			name:     "googleclouddns file",
			provider: "googleclouddns",
			env:      map[string]string{"LEXICON_GOOGLECLOUDDNS_AUTH_SERVICE_ACCOUNT_INFO": "file::sa.json"},
			wantLego: "gcloud",
			want:     []Var{v("GCE_SERVICE_ACCOUNT_FILE", "/etc/letsencrypt/sa.json", "LEXICON_GOOGLECLOUDDNS_AUTH_SERVICE_ACCOUNT_INFO")},
		},
		{
			name:     "googleclouddns base64",
			provider: "googleclouddns",
			env:      map[string]string{"LEXICON_GOOGLECLOUDDNS_AUTH_SERVICE_ACCOUNT_INFO": "base64::" + base64.StdEncoding.EncodeToString([]byte(sa))},
			wantLego: "gcloud",
			want:     []Var{v("GCE_SERVICE_ACCOUNT", sa, "LEXICON_GOOGLECLOUDDNS_AUTH_SERVICE_ACCOUNT_INFO")},
		},
		{
			name:     "azure",
			provider: "azure",
			env: map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-client-id=c --auth-client-secret=s --auth-tenant-id=t " +
				"--auth-subscription-id=sub --resource-group=rg"},
			wantLego: "azuredns",
			want: []Var{
				v("AZURE_CLIENT_ID", "c", "LEXICON_PROVIDER_OPTIONS --auth-client-id"),
				v("AZURE_CLIENT_SECRET", "s", "LEXICON_PROVIDER_OPTIONS --auth-client-secret"),
				v("AZURE_TENANT_ID", "t", "LEXICON_PROVIDER_OPTIONS --auth-tenant-id"),
				v("AZURE_SUBSCRIPTION_ID", "sub", "LEXICON_PROVIDER_OPTIONS --auth-subscription-id"),
				v("AZURE_RESOURCE_GROUP", "rg", "LEXICON_PROVIDER_OPTIONS --resource-group"),
			},
		},
		{
			name:     "namecheap sandbox switch and client ip",
			provider: "namecheap",
			env: map[string]string{
				"LEXICON_PROVIDER_OPTIONS": "--auth-username=u --auth-token=k --auth-sandbox --auth-client-ip=1.2.3.4",
			},
			wantLego: "namecheap",
			want: []Var{
				v("NAMECHEAP_API_KEY", "k", "LEXICON_PROVIDER_OPTIONS --auth-token"),
				v("NAMECHEAP_API_USER", "u", "LEXICON_PROVIDER_OPTIONS --auth-username"),
				v("NAMECHEAP_SANDBOX", "true", "LEXICON_PROVIDER_OPTIONS --auth-sandbox"),
			},
			wantNotes: []string{"auth_client_ip is not needed"},
		},
		{
			name:     "powerdns",
			provider: "powerdns",
			env: map[string]string{
				"LEXICON_POWERDNS_AUTH_TOKEN":          "k",
				"LEXICON_POWERDNS_PDNS_SERVER":         "https://pdns.example.com:8081/api/v1/",
				"LEXICON_POWERDNS_PDNS_SERVER_ID":      "ns1",
				"LEXICON_POWERDNS_PDNS_DISABLE_NOTIFY": "yes",
			},
			wantLego: "pdns",
			want: []Var{
				v("PDNS_API_KEY", "k", "LEXICON_POWERDNS_AUTH_TOKEN"),
				v("PDNS_API_URL", "https://pdns.example.com:8081", "LEXICON_POWERDNS_PDNS_SERVER"),
				v("PDNS_SERVER_NAME", "ns1", "LEXICON_POWERDNS_PDNS_SERVER_ID"),
			},
			wantNotes: []string{"pdns_disable_notify"},
		},
		{
			name:     "ddns (RFC 2136)",
			provider: "ddns",
			env:      map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-token=HMAC-SHA256:acme-key:c2VjcmV0 --ddns-server=192.0.2.53"},
			wantLego: "dnsupdate",
			want: []Var{
				v("DNSUPDATE_NAMESERVER", "192.0.2.53", "LEXICON_PROVIDER_OPTIONS --ddns-server"),
				v("DNSUPDATE_TSIG_ALGORITHM", "hmac-sha256", "LEXICON_PROVIDER_OPTIONS --auth-token (algorithm)"),
				v("DNSUPDATE_TSIG_KEY", "acme-key", "LEXICON_PROVIDER_OPTIONS --auth-token (key name)"),
				v("DNSUPDATE_TSIG_SECRET", "c2VjcmV0", "LEXICON_PROVIDER_OPTIONS --auth-token (secret)"),
			},
		},
		{
			name:     "transip relative key path",
			provider: "transip",
			env:      map[string]string{"LEXICON_TRANSIP_AUTH_USERNAME": "me", "LEXICON_TRANSIP_AUTH_API_KEY": "transip.pem", "LEXICON_TRANSIP_AUTH_KEY_IS_GLOBAL": "true"},
			wantLego: "transip",
			want: []Var{
				v("TRANSIP_ACCOUNT_NAME", "me", "LEXICON_TRANSIP_AUTH_USERNAME"),
				v("TRANSIP_PRIVATE_KEY_PATH", "/etc/letsencrypt/transip.pem", "LEXICON_TRANSIP_AUTH_API_KEY"),
			},
		},
		{
			name:     "zonomi's rimuhosting entrypoint",
			provider: "zonomi",
			env:      map[string]string{"LEXICON_ZONOMI_AUTH_TOKEN": "k", "LEXICON_ZONOMI_AUTH_ENTRYPOINT": "rimuhosting", "LEXICON_TTL": "600"},
			wantLego: "rimuhosting",
			want: []Var{
				v("RIMUHOSTING_API_KEY", "k", "LEXICON_ZONOMI_AUTH_TOKEN"),
				v("RIMUHOSTING_TTL", "600", "LEXICON_TTL"),
			},
		},
		{
			name:     "linode4",
			provider: "linode4",
			env:      map[string]string{"LEXICON_LINODE4_TOKEN": "k"},
			wantLego: "linode",
			want:     []Var{v("LINODE_TOKEN", "k", "LEXICON_LINODE4_TOKEN")},
		},
		{
			name:      "linode (API v3)",
			provider:  "linode",
			env:       map[string]string{"LEXICON_LINODE_AUTH_TOKEN": "k", "LEXICON_LINODE4_AUTH_TOKEN": "other provider's"},
			wantLego:  "linode",
			want:      []Var{v("LINODE_TOKEN", "k", "LEXICON_LINODE_AUTH_TOKEN")},
			wantNotes: []string{"API v3"},
		},
		{
			name:     "nsone and lego's name for it",
			provider: "ns1",
			env:      map[string]string{"LEXICON_NS1_AUTH_TOKEN": "k"},
			wantLego: "ns1",
			want:     []Var{v("NS1_API_KEY", "k", "LEXICON_NS1_AUTH_TOKEN")},
		},
		{
			name:     "infoblox keeps Lexicon's default view",
			provider: "infoblox",
			env:      map[string]string{"LEXICON_INFOBLOX_AUTH_USER": "u", "LEXICON_INFOBLOX_AUTH_PSW": "p", "LEXICON_INFOBLOX_IB_HOST": "ib.example.com"},
			wantLego: "infoblox",
			want: []Var{
				v("INFOBLOX_USERNAME", "u", "LEXICON_INFOBLOX_AUTH_USER"),
				v("INFOBLOX_PASSWORD", "p", "LEXICON_INFOBLOX_AUTH_PSW"),
				v("INFOBLOX_HOST", "ib.example.com", "LEXICON_INFOBLOX_IB_HOST"),
				v("INFOBLOX_DNS_VIEW", "default", "Lexicon's default for infoblox's ib_view (lego's is External)"),
			},
		},
		{
			name:     "untranslated provider without options",
			provider: "oci",
			wantLego: "oraclecloud",
		},
		{
			name:      "delegated and unknown options are notes",
			provider:  "hetzner",
			env:       map[string]string{"LEXICON_HETZNER_AUTH_TOKEN": "k", "LEXICON_HETZNER_AUTH_TOKNE": "typo", "LEXICON_OPTIONS": "--delegated=sub.example.com --resolve-zone-name"},
			wantLego:  "hetzner",
			want:      []Var{v("HETZNER_API_KEY", "k", "LEXICON_HETZNER_AUTH_TOKEN")},
			wantNotes: []string{`LEXICON_HETZNER_AUTH_TOKNE: "auth_tokne" is not an option`, "LEXICON_OPTIONS --delegated: Lexicon's delegated (sub.example.com) is not needed"},
		},
		{
			name:     "empty provider is cloudflare",
			provider: "",
			env:      map[string]string{"LEXICON_CLOUDFLARE_AUTH_TOKEN": "k"},
			wantLego: "cloudflare",
			want:     []Var{v("CLOUDFLARE_DNS_API_TOKEN", "k", "LEXICON_CLOUDFLARE_AUTH_TOKEN")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv, environ := lexiconEnv(tt.env)
			got, err := Translate(tt.provider, getenv, environ, dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Provider != tt.wantLego {
				t.Errorf("Provider = %q, want %q", got.Provider, tt.wantLego)
			}
			if !reflect.DeepEqual(got.Env, tt.want) {
				t.Errorf("Env =\n%#v\nwant\n%#v", got.Env, tt.want)
			}
			if len(got.Notes) != len(tt.wantNotes) {
				t.Fatalf("Notes = %q, want %d", got.Notes, len(tt.wantNotes))
			}
			for i, n := range tt.wantNotes {
				if !strings.Contains(got.Notes[i], n) {
					t.Errorf("note %d = %q, want it to contain %q", i, got.Notes[i], n)
				}
			}
		})
	}
}

func TestTranslateLexiconErrors(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		env      map[string]string
		files    map[string]string
		wantVars []string // the Error.Source of each problem, in order
		wantMsgs []string // a substring of each problem's message
	}{
		{
			name:     "unknown provider",
			provider: "foo",
			wantVars: []string{"LEXICON_PROVIDER"},
			wantMsgs: []string{"set DNS_PROVIDER to a lego provider name instead (DNS_PROVIDER=foo if"},
		},
		{
			name:     "misspelt provider",
			provider: "cloudfare",
			wantVars: []string{"LEXICON_PROVIDER"},
			wantMsgs: []string{"did you mean cloudflare?"},
		},
		{
			name:     "auto provider",
			provider: "auto",
			wantVars: []string{"LEXICON_PROVIDER"},
			wantMsgs: []string{"DNS_PROVIDER"},
		},
		{
			name:     "unmappable option",
			provider: "dnsimple",
			env:      map[string]string{"LEXICON_DNSIMPLE_AUTH_USERNAME": "me", "LEXICON_DNSIMPLE_AUTH_PASSWORD": "pw"},
			wantVars: []string{"LEXICON_DNSIMPLE_AUTH_USERNAME", "LEXICON_DNSIMPLE_AUTH_PASSWORD"},
			wantMsgs: []string{"option auth_username has no lego equivalent: lego's dnsimple provider signs in with an API access token only: set DNSIMPLE_OAUTH_TOKEN",
				"option auth_password has no lego equivalent"},
		},
		{
			name:     "unmappable option in a file",
			provider: "cloudns",
			files:    map[string]string{"lexicon_cloudns.yml": "auth_subuser: bob\nauth_password: pw\n"},
			wantVars: []string{"lexicon_cloudns.yml auth_subuser"},
			wantMsgs: []string{"set CLOUDNS_SUB_AUTH_ID"},
		},
		{
			name:     "untranslated provider with options",
			provider: "oci",
			env:      map[string]string{"LEXICON_OCI_AUTH_USER": "ocid1.user"},
			wantVars: []string{"LEXICON_PROVIDER"},
			wantMsgs: []string{"set DNS_PROVIDER=oraclecloud and the variables lego documents at https://go-acme.github.io/lego/dns/oraclecloud/"},
		},
		{
			name:     "unknown option on the command line",
			provider: "cloudflare",
			env:      map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-tokn=x"},
			wantVars: []string{"LEXICON_PROVIDER_OPTIONS"},
			wantMsgs: []string{"unknown option --auth-tokn (did you mean --auth-token?)"},
		},
		{
			name:     "bad LEXICON_OPTIONS",
			provider: "cloudflare",
			env:      map[string]string{"LEXICON_OPTIONS": "--auth-token=x"},
			wantVars: []string{"LEXICON_OPTIONS"},
			wantMsgs: []string{"unknown option --auth-token"},
		},
		{
			name:     "username without key",
			provider: "cloudflare",
			env:      map[string]string{"LEXICON_CLOUDFLARE_AUTH_USERNAME": "me@example.com"},
			wantVars: []string{"LEXICON_CLOUDFLARE_AUTH_USERNAME"},
			wantMsgs: []string{"needs auth_token"},
		},
		{
			name:     "bad YAML",
			provider: "cloudflare",
			files:    map[string]string{"lexicon.yml": "cloudflare: [\n", "lexicon_cloudflare.yml": "- a\n- b\n"},
			wantVars: []string{"lexicon.yml", "lexicon_cloudflare.yml"},
			wantMsgs: []string{"not valid YAML", "must be a mapping"},
		},
		{
			name:     "provider section not a mapping",
			provider: "cloudflare",
			files:    map[string]string{"lexicon.yml": "cloudflare: token\n"},
			wantVars: []string{"lexicon.yml"},
			wantMsgs: []string{"cloudflare: must be a mapping"},
		},
		{
			name:     "bad ttl",
			provider: "cloudflare",
			env:      map[string]string{"LEXICON_TTL": "soon"},
			wantVars: []string{"LEXICON_TTL"},
			wantMsgs: []string{"not a positive whole number"},
		},
		{
			name:     "transip key inline",
			provider: "transip",
			env:      map[string]string{"LEXICON_PROVIDER_OPTIONS": "--auth-api-key=base64::LS0t"},
			wantVars: []string{"LEXICON_PROVIDER_OPTIONS --auth-api-key"},
			wantMsgs: []string{"set TRANSIP_PRIVATE_KEY_PATH"},
		},
		{
			name:     "ddns token shape",
			provider: "ddns",
			env:      map[string]string{"LEXICON_DDNS_AUTH_TOKEN": "secret"},
			wantVars: []string{"LEXICON_DDNS_AUTH_TOKEN"},
			wantMsgs: []string{"ALGORITHM:KEY_NAME:SECRET"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeLexiconFiles(t, tt.files)
			getenv, environ := lexiconEnv(tt.env)
			got, err := Translate(tt.provider, getenv, environ, dir)
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			if got != nil {
				t.Errorf("translation %+v returned with an error", got)
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error %v is not a joined error", err)
			}
			errs := joined.Unwrap()
			if len(errs) != len(tt.wantVars) {
				t.Fatalf("got %d problems, want %d: %v", len(errs), len(tt.wantVars), err)
			}
			for i, e := range errs {
				var lexErr *Error
				if !errors.As(e, &lexErr) {
					t.Fatalf("problem %v is not an *Error", e)
				}
				wantVar := tt.wantVars[i]
				if strings.Contains(wantVar, ".yml") {
					wantVar = filepath.Join(dir, wantVar)
				}
				if lexErr.Source != wantVar {
					t.Errorf("problem %d: Source = %q, want %q", i, lexErr.Source, wantVar)
				}
				if !strings.Contains(e.Error(), tt.wantMsgs[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, e, tt.wantMsgs[i])
				}
			}
		})
	}
}

func TestTranslateLexiconConfigDir(t *testing.T) {
	dir := t.TempDir()
	other := writeLexiconFiles(t, map[string]string{"lexicon_cloudflare.yml": "auth_token: from-config-dir\n"})
	if err := os.WriteFile(filepath.Join(dir, "lexicon_cloudflare.yml"), []byte("auth_token: from-dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, environ := lexiconEnv(map[string]string{"LEXICON_OPTIONS": "--config-dir " + other})
	got, err := Translate("cloudflare", getenv, environ, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Env) != 1 || got.Env[0].Value != "from-config-dir" {
		t.Errorf("Env = %+v, want the token from --config-dir's file", got.Env)
	}
}

func TestLexiconYAMLDetails(t *testing.T) {
	dir := writeLexiconFiles(t, map[string]string{
		"lexicon.yml": "defaults: &d\n  auth_entrypoint: ovh-ca\n" +
			"ovh: *d\n" +
			"delegated: ~\n" +
			"ttl: 3600\n",
		"lexicon_ovh.yml": "auth_application_key: 0123\nauth_consumer_key: one\nauth_consumer_key: two\nauth_application_secret:\n",
	})
	getenv, environ := lexiconEnv(nil)
	got, err := Translate("ovh", getenv, environ, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{
		v("OVH_ENDPOINT", "ovh-ca", filepath.Join(dir, "lexicon.yml")+" ovh.auth_entrypoint"),
		v("OVH_APPLICATION_KEY", "0123", filepath.Join(dir, "lexicon_ovh.yml")+" auth_application_key"),
		v("OVH_CONSUMER_KEY", "two", filepath.Join(dir, "lexicon_ovh.yml")+" auth_consumer_key"),
		v("OVH_TTL", "3600", filepath.Join(dir, "lexicon.yml")+" ttl"),
	}
	if !reflect.DeepEqual(got.Env, want) {
		t.Errorf("Env =\n%#v\nwant\n%#v", got.Env, want)
	}
	if len(got.Notes) != 0 {
		t.Errorf("Notes = %q", got.Notes)
	}
}

func TestLegoVarIsSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"CLOUDFLARE_DNS_API_TOKEN": true,
		"CLOUDFLARE_API_KEY":       true,
		"OVH_APPLICATION_SECRET":   true,
		"INWX_PASSWORD":            true,
		"GCE_SERVICE_ACCOUNT":      true,
		"CLOUDFLARE_EMAIL":         false,
		"OVH_ENDPOINT":             false,
		"GCE_SERVICE_ACCOUNT_FILE": false,
		"TRANSIP_PRIVATE_KEY_PATH": false,
		"AZURE_CLIENT_ID":          false,
		"AWS_REGION":               false,
	} {
		if got := legoVarIsSecret(name); got != want {
			t.Errorf("legoVarIsSecret(%s) = %v, want %v", name, got, want)
		}
	}
}
