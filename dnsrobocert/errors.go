package dnsrobocert

import "fmt"

// Error is a problem in config.yml: "FILE:LINE: PATH: what is wrong", PATH
// being the key's place in the document (certificates[0].autocmd[1].cmd),
// omitted when the problem is not about one key.
type Error struct {
	File string
	Line int
	Path string
	Err  error
}

// Error renders the problem with its file, line and path.
func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %v", where, e.Path, e.Err)
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
