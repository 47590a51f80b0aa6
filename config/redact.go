package config

import (
	"fmt"
	"log/slog"
)

// Format prints the configuration as its Summary (secrets masked) for
// every verb, so that no fmt call — %v, %+v, %#v, %s — can print the EAB
// MAC key or the PFX passphrase, even by mistake.
func (c Config) Format(f fmt.State, _ rune) {
	for i, kv := range c.Summary() {
		if i > 0 {
			fmt.Fprint(f, " ")
		}
		fmt.Fprintf(f, "%s=%q", kv.Key, kv.Value)
	}
}

// LogValue logs the configuration as its Summary (secrets masked).
func (c Config) LogValue() slog.Value {
	kvs := c.Summary()
	attrs := make([]slog.Attr, 0, len(kvs))
	for _, kv := range kvs {
		attrs = append(attrs, slog.String(kv.Key, kv.Value))
	}
	return slog.GroupValue(attrs...)
}
