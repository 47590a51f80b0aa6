// Package cert holds the types every certdock package shares: the desired
// certificate (Spec), where it was asked for (Source), what to do when it
// changes (Action), what is on disk (Lineage) and freshly issued material
// (Bundle), plus domain-name normalisation and path-safe lineage names.
//
// It imports no other certdock package.
package cert
