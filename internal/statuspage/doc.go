// Package statuspage serves certdock's read-only status page (GET /) and
// its JSON (GET /api/status, exactly what `certdock status --json`
// prints). The page is one self-contained HTML document rendered with
// html/template (every name, label value and error message is escaped),
// with no script and no external asset, so it works offline; it refreshes
// itself.
package statuspage
