// Package suggest finds the known names closest to a mistyped one, for the
// "did you mean" part of certdock's error messages (domains.conf options,
// Lexicon providers and options, lego provider names).
package suggest
