// Package memtrim gives back memory that only certdock's start-up needed.
//
// The all-provider executable initialises ~400 packages (every lego DNS
// provider and its cloud SDK) before main runs: their init functions touch
// tens of MiB of the executable's code and read-only data, which then
// count in the process's resident set (and in `docker stats`) for its whole
// life although the daemon never runs that code again. Release asks the
// kernel to page those read-only pages of the executable out (pages still
// in use come back from the page cache on their next access) and returns
// the heap freed since start-up to the system.
package memtrim
