package secrets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// MaxNameLen is the longest secret name Swarm accepts.
const MaxNameLen = 64

// NamePrefix starts the name of every secret certdock creates, so that
// `docker secret ls --filter name=certdock.` lists them.
const NamePrefix = "certdock."

// The files of a delivered certificate, named as under live/<lineage>/.
const (
	FileCert      = "cert.pem"
	FileChain     = "chain.pem"
	FileFullchain = "fullchain.pem"
	FilePrivkey   = "privkey.pem"
)

// Files lists the files delivered for every certificate, in certbot's
// order.
var Files = []string{FileCert, FileChain, FileFullchain, FilePrivkey}

// MaxVersion is the highest version whose names fit in MaxNameLen (one
// renewal a day would take 27,000 years to reach it).
const MaxVersion = 9_999_999

// The stem is the part of a name that stands for the lineage. A lineage
// shorter than stemLen is its own stem; a longer one is cut and followed
// by "-" and hashLen hex digits of its SHA-256, exactly stemLen in all.
// A verbatim stem is therefore always shorter than a shortened one, and
// the two kinds never meet. Budget: "certdock." (9) + stem (32) +
// ".v9999999" (9) + "." (1) + "fullchain.pem" (13) = 64.
const (
	stemLen = 32
	hashLen = 12
)

// Name returns the name of the secret holding file (one of Files) of
// version of lineage, e.g. "certdock.example.com.v3.fullchain.pem". For a
// valid lineage name (cert.ValidName), a version from 1 to MaxVersion and
// one of Files, it is a valid Swarm secret name (ValidName), lower case,
// and different for every (lineage, version, file). A lineage of 32
// characters or more is shortened stably: its first 19 characters, "-",
// and 12 hex digits of the SHA-256 of the whole name; two long lineages
// could only share a name by sharing those 19 characters and 48 bits of
// their hashes, and even then the lineage label tells them apart
// (Reusable).
func Name(lineage string, version int, file string) string {
	return NamePrefix + stem(lineage) + ".v" + strconv.Itoa(version) + "." + file
}

func stem(lineage string) string {
	if len(lineage) < stemLen {
		return lineage
	}
	sum := sha256.Sum256([]byte(lineage))
	return lineage[:stemLen-1-hashLen] + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

// parse splits a name that Name could have made into its stem, version
// and file; ok is false for any other name.
func parse(name string) (stem string, version int, file string, ok bool) {
	rest, found := strings.CutPrefix(name, NamePrefix)
	if !found {
		return "", 0, "", false
	}
	for _, f := range Files {
		if r, cut := strings.CutSuffix(rest, "."+f); cut {
			rest, file = r, f
			break
		}
	}
	i := strings.LastIndex(rest, ".v")
	if file == "" || i < 1 {
		return "", 0, "", false
	}
	n, err := strconv.Atoi(rest[i+2:])
	if err != nil || n < 0 || strconv.Itoa(n) != rest[i+2:] {
		return "", 0, "", false
	}
	return rest[:i], n, file, true
}

// ValidName reports whether Swarm accepts name for a secret: 1 to 64
// characters from [a-zA-Z0-9-_.], the first and the last a letter or a
// digit.
func ValidName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("secret name %q: length %d, want 1 to %d", name, len(name), MaxNameLen)
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return fmt.Errorf("secret name %q must start and end with a letter or a digit", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("secret name %q contains %q (allowed: a-z A-Z 0-9 - _ .)", name, c)
		}
	}
	return nil
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
