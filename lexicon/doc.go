// Package lexicon owns translating the seed image's Lexicon settings into
// lego's. The seed drove its DNS provider through Lexicon, configured by
// LEXICON_PROVIDER, LEXICON_<PROVIDER>_<OPTION> variables,
// LEXICON_PROVIDER_OPTIONS, LEXICON_OPTIONS, lexicon.yml and
// lexicon_<provider>.yml; certdock drives lego's providers, configured by
// their environment variables. Translate reads the Lexicon settings and
// says which lego provider and variables they become, and which problems
// stop the translation, each naming the variable, file or option at fault.
//
// It reads the configuration files but changes no environment: the caller
// applies the translation. It does not import config.
package lexicon
