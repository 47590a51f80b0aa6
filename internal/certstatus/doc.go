// Package certstatus turns the controller's view of every certificate
// (controller.CertStatus) into the rows `certdock status` prints, as a
// table or as JSON. The CLI and the daemon's status page (/api/status)
// both build their rows here, so they say the same thing.
package certstatus
