package main

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/certdock/certdock/config"
	"github.com/certdock/certdock/lexicon"
)

// applyLexicon translates the seed's Lexicon settings (LEXICON_PROVIDER,
// LEXICON_<PROVIDER>_<OPTION>, LEXICON_PROVIDER_OPTIONS, LEXICON_OPTIONS,
// lexicon.yml, lexicon_<provider>.yml) into the lego provider name and the
// lego variables its provider reads, setting those variables in this
// process's environment (never overriding one already set). DNS_PROVIDER
// means lego naming is used directly; a LEXICON_PROVIDER that is already a
// lego name Lexicon does not know is used as it is.
func applyLexicon(cfg *config.Config) (*lexicon.Translation, error) {
	if cfg.ProviderVar == "DNS_PROVIDER" {
		return nil, nil
	}
	if _, ok := lexicon.LegoProviderName(cfg.Provider); !ok && slices.Contains(providerNames, cfg.Provider) {
		return nil, nil
	}
	tr, err := lexicon.Translate(cfg.Provider, os.Getenv, os.Environ(), cfg.Dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("Lexicon settings:\n%w", err)}
	}
	for _, v := range tr.Env {
		if !v.Kept {
			os.Setenv(v.Name, v.Value)
		}
	}
	cfg.Provider = tr.Provider
	return tr, nil
}

// printLexicon shows the translation with secrets masked.
func printLexicon(w io.Writer, tr *lexicon.Translation) {
	if tr == nil {
		return
	}
	fmt.Fprintf(w, "  Lexicon settings translated to lego's (provider %s):\n", tr.Provider)
	for _, v := range tr.Env {
		val := v.Value
		if v.Secret {
			val = mask(val)
		}
		if v.Kept {
			fmt.Fprintf(w, "    %s: kept from the environment (%s)\n", v.Name, v.From)
			continue
		}
		fmt.Fprintf(w, "    %s=%s  (from %s)\n", v.Name, val, v.From)
	}
	for _, n := range tr.Notes {
		fmt.Fprintf(w, "    note: %s\n", n)
	}
}
