// Package shellwords owns splitting a command line into words the way a
// POSIX shell does, without a shell: quotes and backslashes are honoured,
// nothing is expanded or interpreted. certdock uses it for the
// certdock.exec label and CERTDOCK_ON_FAILURE (argv run without a shell)
// and for the seed's LEXICON_OPTIONS and LEXICON_PROVIDER_OPTIONS (read as
// Lexicon's command line).
package shellwords
