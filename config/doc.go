// Package config owns certdock's configuration surface: the environment
// variables (the seed image's names plus certdock's own) and the grammar of
// domains.conf. It validates everything up front and reports problems the
// way an operator can act on them: each environment problem names its
// variable, each domains.conf problem names its file and line.
//
// It does not touch Docker, the network or certificate files.
package config
