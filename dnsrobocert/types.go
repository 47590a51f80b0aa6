package dnsrobocert

// Config is a config.yml as dnsrobocert reads it.
type Config struct {
	// File is the path the configuration was read from, for messages.
	File string
	// Draft: validate only, place no order.
	Draft bool
	ACME  ACME
	// API is dnsrobocert's unused "api" section (accepted, ignored).
	Profiles     []Profile
	Certificates []Certificate
}

// ACME is the acme section.
type ACME struct {
	EmailAccount string
	Staging      bool
	// APIVersion is 2 (1 is refused when read).
	APIVersion   int
	DirectoryURL string
	// CertsRootPath is where dnsrobocert wrote the certbot layout.
	CertsRootPath string
	Permissions   Permissions
	CrontabRenew  string
}

// Permissions is acme.certs_permissions, as strings (modes in octal).
type Permissions struct {
	FilesMode, DirsMode string
	User, Group         string
}

// Profile is one entry of profiles.
type Profile struct {
	Line int
	Name string
	// Provider is a Lexicon provider name, or a lego one.
	Provider string
	// Options are provider_options: Lexicon options (auth_token) for a
	// Lexicon provider, lego variables (CLOUDFLARE_DNS_API_TOKEN) for a
	// lego one.
	Options            map[string]string
	SleepTime          *int
	MaxChecks          *int
	TTL                *int
	DelegatedSubdomain string
	// DynamicZoneResolution is accepted; lego always finds the zone.
	DynamicZoneResolution *bool
}

// Certificate is one entry of certificates.
type Certificate struct {
	Line    int
	Name    string // as given; Lineage() applies the default
	Domains []string
	Profile string
	PFX     *PFX
	// Autorestart and Autocmd in the order given.
	Autorestart  []Autorestart
	Autocmd      []Autocmd
	DeployHook   string
	ForceRenew   bool
	FollowCNAMEs bool
	ReuseKey     bool
	KeyType      string // "rsa", "ecdsa" or "" (dnsrobocert's default: rsa)
}

// PFX is a certificate's pfx section.
type PFX struct {
	Export     bool
	Passphrase string
}

// Autorestart is one autorestart entry.
type Autorestart struct {
	Line             int
	Containers       []string
	SwarmServices    []string
	PodmanContainers []string
}

// Autocmd is one autocmd entry: Cmd is an argv when given as a list;
// Shell is the string form (dnsrobocert runs it through a shell).
type Autocmd struct {
	Line       int
	Containers []string
	Cmd        []string
	Shell      string
}
