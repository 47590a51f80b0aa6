package lexicon

// This file is the table of Lexicon providers certdock knows, each with its
// lego equivalent and what becomes of each of its options. Option names are
// those of Lexicon 3's providers (their configure_parser or provider_parser
// functions, plus a few options they read without declaring them); lego
// variable names are those of lego v5's providers/dns/<name> packages,
// which lexicon_providers_test.go checks against lego's source.

// lexiconProvider is one Lexicon provider.
type lexiconProvider struct {
	// lego is the lego provider's name.
	lego string

	// ttl is the lego variable for the TXT record's TTL, which Lexicon's
	// --ttl option (or LEXICON_TTL, or lexicon.yml's ttl) sets; empty when
	// the lego provider has none.
	ttl string

	// options are Lexicon's options for the provider. Nil means certdock
	// knows the lego equivalent but does not translate the options.
	options []lexiconOption

	// translate, when set, handles the options marked custom.
	translate func(t *lexiconTranslator)
}

// lexiconOption is one option of a Lexicon provider and its translation.
// Exactly one of to, fail, note, custom and quiet is set.
type lexiconOption struct {
	name string // "auth_token"

	// to is the lego variable the value goes to, unchanged, or through
	// conv when set.
	to   string
	conv func(string) (string, error)

	// fail explains why the option cannot be translated and what to set
	// instead: giving it is an error.
	fail string

	// note explains why lego does not need the option: giving it adds a
	// note.
	note string

	// custom options are translated by the provider's translate function.
	custom bool

	// quiet options do not matter for DNS challenges and are dropped
	// silently (SRV weights, request pacing, ...).
	quiet bool

	// isSwitch marks options that take no value on the command line
	// (argparse's store_true); their value is a boolean.
	isSwitch bool
}

func to(name, lego string) lexiconOption { return lexiconOption{name: name, to: lego} }

func toVia(name, lego string, conv func(string) (string, error)) lexiconOption {
	return lexiconOption{name: name, to: lego, conv: conv}
}

func toSwitch(name, lego string) lexiconOption {
	return lexiconOption{name: name, to: lego, conv: normalizeBool, isSwitch: true}
}

func failOpt(name, why string) lexiconOption { return lexiconOption{name: name, fail: why} }
func noteOpt(name, why string) lexiconOption { return lexiconOption{name: name, note: why} }
func custom(name string) lexiconOption       { return lexiconOption{name: name, custom: true} }
func quiet(name string) lexiconOption        { return lexiconOption{name: name, quiet: true} }
func quietSwitch(name string) lexiconOption {
	return lexiconOption{name: name, quiet: true, isSwitch: true}
}
func opts(list ...lexiconOption) []lexiconOption { return list }

// lexiconProviders maps Lexicon provider names to their lego equivalents.
var lexiconProviders = map[string]*lexiconProvider{
	"aliyun": {lego: "alidns", ttl: "ALICLOUD_TTL", options: opts(
		to("auth_key_id", "ALICLOUD_ACCESS_KEY"),
		to("auth_secret", "ALICLOUD_SECRET_KEY"))},
	"arvancloud": {lego: "arvancloud", ttl: "ARVANCLOUD_TTL", options: opts(
		to("auth_token", "ARVANCLOUD_API_KEY"))},
	"aurora": {lego: "auroradns", ttl: "AURORA_TTL", options: opts(
		to("auth_api_key", "AURORA_API_KEY"),
		to("auth_secret_key", "AURORA_SECRET"))},
	"azure": {lego: "azuredns", ttl: "AZURE_TTL", options: opts(
		to("auth_client_id", "AZURE_CLIENT_ID"),
		to("auth_client_secret", "AZURE_CLIENT_SECRET"),
		to("auth_tenant_id", "AZURE_TENANT_ID"),
		to("auth_subscription_id", "AZURE_SUBSCRIPTION_ID"),
		to("resource_group", "AZURE_RESOURCE_GROUP"))},
	"cloudflare": {lego: "cloudflare", ttl: "CLOUDFLARE_TTL", translate: translateCloudflare, options: opts(
		custom("auth_username"),
		custom("auth_token"),
		// lego finds the zone's ID from its name, which a token scoped
		// to the zone (Zone:Read + DNS:Edit, as Lexicon asks) may read.
		quiet("zone_id"))},
	"cloudns": {lego: "cloudns", ttl: "CLOUDNS_TTL", options: opts(
		to("auth_id", "CLOUDNS_AUTH_ID"),
		to("auth_subid", "CLOUDNS_SUB_AUTH_ID"),
		failOpt("auth_subuser", "lego's cloudns provider signs in with an auth-id or a sub-auth-id, not a sub-user name: set CLOUDNS_SUB_AUTH_ID to the sub-user's id, and CLOUDNS_AUTH_PASSWORD"),
		to("auth_password", "CLOUDNS_AUTH_PASSWORD"),
		quiet("weight"),
		quiet("port"))},
	"conoha": {lego: "conoha", ttl: "CONOHA_TTL", options: opts(
		to("auth_region", "CONOHA_REGION"),
		failOpt("auth_token", "lego's conoha provider signs in with the API user's name and password, not a token: set CONOHA_API_USERNAME, CONOHA_API_PASSWORD and CONOHA_TENANT_ID"),
		to("auth_username", "CONOHA_API_USERNAME"),
		to("auth_password", "CONOHA_API_PASSWORD"),
		to("auth_tenant_id", "CONOHA_TENANT_ID"))},
	"constellix": {lego: "constellix", ttl: "CONSTELLIX_TTL", options: opts(
		to("auth_username", "CONSTELLIX_API_KEY"),
		to("auth_token", "CONSTELLIX_SECRET_KEY"))},
	"ddns": {lego: "dnsupdate", ttl: "DNSUPDATE_TTL", translate: translateDDNS, options: opts(
		custom("auth_token"),
		to("ddns_server", "DNSUPDATE_NAMESERVER"),
		// Lexicon's ddns reads the zone as "domain"; lego asks the
		// server for the zone's SOA.
		quiet("domain"))},
	"digitalocean": {lego: "digitalocean", ttl: "DO_TTL", options: opts(
		to("auth_token", "DO_AUTH_TOKEN"))},
	"dinahosting": {lego: "dinahosting", ttl: "DINAHOSTING_TTL", options: opts(
		to("auth_username", "DINAHOSTING_USERNAME"),
		to("auth_password", "DINAHOSTING_PASSWORD"))},
	"directadmin": {lego: "directadmin", ttl: "DIRECTADMIN_TTL", options: opts(
		to("auth_password", "DIRECTADMIN_PASSWORD"),
		to("auth_username", "DIRECTADMIN_USERNAME"),
		to("endpoint", "DIRECTADMIN_API_URL"))},
	"dnsimple": {lego: "dnsimple", ttl: "DNSIMPLE_TTL", options: opts(
		to("auth_token", "DNSIMPLE_OAUTH_TOKEN"),
		failOpt("auth_username", dnsimpleTokenOnly),
		failOpt("auth_password", dnsimpleTokenOnly),
		failOpt("auth_2fa", dnsimpleTokenOnly),
		toVia("api_endpoint", "DNSIMPLE_BASE_URL", dnsimpleBaseURL),
		quiet("regions"))},
	"dnsmadeeasy": {lego: "dnsmadeeasy", ttl: "DNSMADEEASY_TTL", options: opts(
		to("auth_username", "DNSMADEEASY_API_KEY"),
		to("auth_token", "DNSMADEEASY_API_SECRET"),
		toVia("api_endpoint", "DNSMADEEASY_SANDBOX", hostHasLabel("sandbox")))},
	"dnsservices": {lego: "dnsservices", ttl: "DNSSERVICES_TTL", options: opts(
		to("auth_username", "DNSSERVICES_USERNAME"),
		to("auth_password", "DNSSERVICES_PASSWORD"))},
	"dreamhost": {lego: "dreamhost", options: opts(
		to("auth_token", "DREAMHOST_API_KEY"))},
	"duckdns": {lego: "duckdns", options: opts(
		to("auth_token", "DUCKDNS_TOKEN"))},
	"dynu": {lego: "dynu", ttl: "DYNU_TTL", options: opts(
		to("auth_token", "DYNU_API_KEY"))},
	"easydns": {lego: "easydns", ttl: "EASYDNS_TTL", options: opts(
		// Lexicon sends auth_username as easyDNS's "_user" (the API
		// token) and auth_token as "_key" (the API key).
		to("auth_username", "EASYDNS_TOKEN"),
		to("auth_token", "EASYDNS_KEY"),
		to("api_endpoint", "EASYDNS_ENDPOINT"))},
	"euserv": {lego: "euserv", ttl: "EUSERV_TTL", options: opts(
		to("auth_username", "EUSERV_EMAIL"),
		to("auth_password", "EUSERV_PASSWORD"))},
	"exoscale": {lego: "exoscale", ttl: "EXOSCALE_TTL", options: opts(
		to("auth_key", "EXOSCALE_API_KEY"),
		to("auth_secret", "EXOSCALE_API_SECRET"))},
	"gandi": {lego: "gandiv5", ttl: "GANDIV5_TTL", translate: translateGandi, options: opts(
		custom("auth_token"),
		custom("api_protocol"))},
	"gehirn": {lego: "gehirn", ttl: "GEHIRN_TTL", options: opts(
		to("auth_token", "GEHIRN_TOKEN_ID"),
		to("auth_secret", "GEHIRN_TOKEN_SECRET"))},
	"glesys": {lego: "glesys", ttl: "GLESYS_TTL", options: opts(
		to("auth_username", "GLESYS_API_USER"),
		to("auth_token", "GLESYS_API_KEY"))},
	"godaddy": {lego: "godaddy", ttl: "GODADDY_TTL", options: opts(
		to("auth_key", "GODADDY_API_KEY"),
		to("auth_secret", "GODADDY_API_SECRET"))},
	"googleclouddns": {lego: "gcloud", ttl: "GCE_TTL", translate: translateGoogleCloudDNS, options: opts(
		custom("auth_service_account_info"))},
	"hetzner": {lego: "hetzner", ttl: "HETZNER_TTL", options: opts(
		// A Hetzner DNS Console token: lego's legacy Hetzner DNS API.
		to("auth_token", "HETZNER_API_KEY"))},
	"hostingde": {lego: "hostingde", ttl: "HOSTINGDE_TTL", options: opts(
		to("auth_token", "HOSTINGDE_API_KEY"))},
	"infoblox": {lego: "infoblox", ttl: "INFOBLOX_TTL", translate: translateInfoblox, options: opts(
		to("auth_user", "INFOBLOX_USERNAME"),
		to("auth_psw", "INFOBLOX_PASSWORD"),
		custom("ib_view"),
		to("ib_host", "INFOBLOX_HOST"))},
	"infomaniak": {lego: "infomaniak", ttl: "INFOMANIAK_TTL", options: opts(
		to("auth_token", "INFOMANIAK_ACCESS_TOKEN"))},
	"internetbs": {lego: "internetbs", ttl: "INTERNET_BS_TTL", options: opts(
		to("auth_key", "INTERNET_BS_API_KEY"),
		to("auth_password", "INTERNET_BS_PASSWORD"))},
	"inwx": {lego: "inwx", ttl: "INWX_TTL", options: opts(
		to("auth_username", "INWX_USERNAME"),
		to("auth_password", "INWX_PASSWORD"),
		toVia("endpoint", "INWX_SANDBOX", hostHasLabel("ote")))},
	"ionos": {lego: "ionos", ttl: "IONOS_TTL", options: opts(
		to("api_key", "IONOS_API_KEY"))},
	"joker": {lego: "joker", ttl: "JOKER_TTL", options: opts(
		to("auth_token", "JOKER_API_KEY"))},
	"linode": {lego: "linode", ttl: "LINODE_TTL", translate: translateLinodeV3, options: opts(
		to("auth_token", "LINODE_TOKEN"))},
	"linode4": {lego: "linode", ttl: "LINODE_TTL", options: opts(
		to("auth_token", "LINODE_TOKEN"))},
	"luadns": {lego: "luadns", ttl: "LUADNS_TTL", options: opts(
		to("auth_username", "LUADNS_API_USERNAME"),
		to("auth_token", "LUADNS_API_TOKEN"))},
	"mythicbeasts": {lego: "mythicbeasts", ttl: "MYTHICBEASTS_TTL", options: opts(
		to("auth_username", "MYTHICBEASTS_USERNAME"),
		to("auth_password", "MYTHICBEASTS_PASSWORD"),
		failOpt("auth_token", "lego's mythicbeasts provider gets its own token from an API key: set MYTHICBEASTS_USERNAME and MYTHICBEASTS_PASSWORD to the API key's ID and secret"))},
	"namecheap": {lego: "namecheap", ttl: "NAMECHEAP_TTL", options: opts(
		to("auth_token", "NAMECHEAP_API_KEY"),
		to("auth_username", "NAMECHEAP_API_USER"),
		noteOpt("auth_client_ip", "lego finds the public address it calls Namecheap from by itself; that address must be whitelisted in Namecheap's API settings"),
		toSwitch("auth_sandbox", "NAMECHEAP_SANDBOX"))},
	"namecom": {lego: "namedotcom", ttl: "NAMECOM_TTL", options: opts(
		to("auth_username", "NAMECOM_USERNAME"),
		to("auth_token", "NAMECOM_API_TOKEN"))},
	"namesilo": {lego: "namesilo", ttl: "NAMESILO_TTL", options: opts(
		to("auth_token", "NAMESILO_API_KEY"))},
	"netcup": {lego: "netcup", options: opts(
		to("auth_customer_id", "NETCUP_CUSTOMER_NUMBER"),
		to("auth_api_key", "NETCUP_API_KEY"),
		to("auth_api_password", "NETCUP_API_PASSWORD"))},
	"nfsn": {lego: "nearlyfreespeech", ttl: "NEARLYFREESPEECH_TTL", options: opts(
		to("auth_username", "NEARLYFREESPEECH_LOGIN"),
		to("auth_token", "NEARLYFREESPEECH_API_KEY"))},
	"njalla": {lego: "njalla", ttl: "NJALLA_TTL", options: opts(
		to("auth_token", "NJALLA_TOKEN"))},
	"nsone": {lego: "ns1", ttl: "NS1_TTL", options: opts(
		to("auth_token", "NS1_API_KEY"))},
	"online": {lego: "onlinenet", ttl: "ONLINENET_TTL", options: opts(
		to("auth_token", "ONLINENET_API_TOKEN"))},
	"ovh": {lego: "ovh", ttl: "OVH_TTL", options: opts(
		to("auth_entrypoint", "OVH_ENDPOINT"),
		to("auth_application_key", "OVH_APPLICATION_KEY"),
		to("auth_application_secret", "OVH_APPLICATION_SECRET"),
		to("auth_consumer_key", "OVH_CONSUMER_KEY"))},
	"plesk": {lego: "plesk", ttl: "PLESK_TTL", options: opts(
		to("auth_username", "PLESK_USERNAME"),
		to("auth_password", "PLESK_PASSWORD"),
		to("plesk_server", "PLESK_SERVER_BASE_URL"))},
	"porkbun": {lego: "porkbun", ttl: "PORKBUN_TTL", options: opts(
		to("auth_key", "PORKBUN_API_KEY"),
		to("auth_secret", "PORKBUN_SECRET_API_KEY"))},
	"powerdns": {lego: "pdns", ttl: "PDNS_TTL", options: opts(
		to("auth_token", "PDNS_API_KEY"),
		toVia("pdns_server", "PDNS_API_URL", powerDNSServerURL),
		to("pdns_server_id", "PDNS_SERVER_NAME"),
		noteOpt("pdns_disable_notify", "lego always asks PowerDNS to notify the secondaries of a Master or Slave zone after a change; this cannot be turned off"))},
	"qcloud": {lego: "tencentcloud", ttl: "TENCENTCLOUD_TTL", options: opts(
		to("secret_id", "TENCENTCLOUD_SECRET_ID"),
		to("secret_key", "TENCENTCLOUD_SECRET_KEY"))},
	"rackspace": {lego: "rackspace", ttl: "RACKSPACE_TTL", options: opts(
		// lego finds the account's DNS endpoint in the identity
		// service's catalog.
		quiet("auth_account"),
		to("auth_username", "RACKSPACE_USER"),
		to("auth_api_key", "RACKSPACE_API_KEY"),
		failOpt("auth_token", "lego's rackspace provider gets its own token: set RACKSPACE_USER and RACKSPACE_API_KEY"),
		quiet("sleep_time"))},
	"rage4": {lego: "rage4", ttl: "RAGE4_TTL", options: opts(
		to("auth_username", "RAGE4_USERNAME"),
		to("auth_token", "RAGE4_PASSWORD"))},
	"rcodezero": {lego: "rcodezero", ttl: "RCODEZERO_TTL", options: opts(
		to("auth_token", "RCODEZERO_API_TOKEN"))},
	"regfish": {lego: "regfish", ttl: "REGFISH_TTL", options: opts(
		to("auth_api_key", "REGFISH_API_KEY"))},
	"route53": {lego: "route53", ttl: "AWS_TTL", translate: translateRoute53, options: opts(
		custom("auth_access_key"),
		custom("auth_access_secret"),
		toVia("private_zone", "AWS_PRIVATE_ZONE", route53PrivateZone),
		to("zone_id", "AWS_HOSTED_ZONE_ID"),
		custom("auth_username"),
		custom("auth_token"))},
	"safedns": {lego: "safedns", ttl: "SAFEDNS_TTL", options: opts(
		to("auth_token", "SAFEDNS_AUTH_TOKEN"))},
	"sakuracloud": {lego: "sakuracloud", ttl: "SAKURACLOUD_TTL", options: opts(
		to("auth_token", "SAKURACLOUD_ACCESS_TOKEN"),
		to("auth_secret", "SAKURACLOUD_ACCESS_TOKEN_SECRET"))},
	"timeweb": {lego: "timewebcloud", options: opts(
		to("auth_token", "TIMEWEBCLOUD_AUTH_TOKEN"))},
	"transip": {lego: "transip", ttl: "TRANSIP_TTL", translate: translateTransIP, options: opts(
		to("auth_username", "TRANSIP_ACCOUNT_NAME"),
		custom("auth_api_key"),
		// lego's TransIP client always asks for a token usable from
		// any address.
		quietSwitch("auth_key_is_global"))},
	"ultradns": {lego: "ultradns", ttl: "ULTRADNS_TTL", options: opts(
		failOpt("auth_token", "lego's ultradns provider signs in with a user name and password: set ULTRADNS_USERNAME and ULTRADNS_PASSWORD"),
		to("auth_username", "ULTRADNS_USERNAME"),
		to("auth_password", "ULTRADNS_PASSWORD"))},
	"vercel": {lego: "vercel", ttl: "VERCEL_TTL", options: opts(
		to("auth_token", "VERCEL_API_TOKEN"))},
	"vultr": {lego: "vultr", ttl: "VULTR_TTL", options: opts(
		to("auth_token", "VULTR_API_KEY"))},
	"wedos": {lego: "wedos", ttl: "WEDOS_TTL", options: opts(
		to("auth_username", "WEDOS_USERNAME"),
		to("auth_pass", "WEDOS_WAPI_PASSWORD"))},
	"yandex": {lego: "yandex", ttl: "YANDEX_TTL", options: opts(
		to("auth_token", "YANDEX_PDD_TOKEN"))},
	"zeit": {lego: "vercel", ttl: "VERCEL_TTL", options: opts(
		to("auth_token", "VERCEL_API_TOKEN"))},
	"zilore": {lego: "zilore", ttl: "ZILORE_TTL", options: opts(
		to("auth_key", "ZILORE_ACCESS_KEY"))},
	"zonomi": {lego: "zonomi", ttl: "ZONOMI_TTL", translate: translateZonomi, options: opts(
		custom("auth_token"),
		custom("auth_entrypoint"))},

	// Known lego equivalents whose options certdock does not translate.
	"oci":         {lego: "oraclecloud"},
	"yandexcloud": {lego: "yandexcloud"},
}

// lexiconAliases are other names accepted for Lexicon providers.
var lexiconAliases = map[string]string{
	"ns1": "nsone", // lego's name for Lexicon's nsone
}

const dnsimpleTokenOnly = "lego's dnsimple provider signs in with an API access token only: set DNSIMPLE_OAUTH_TOKEN"
