package testenv

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
)

// HideChallenges removes the challenges of the given types ("dns-persist-01")
// from every authorization the proxy passes on, as a CA that does not offer
// them would answer; Heal offers them again.
func (ap *ACMEProxy) HideChallenges(types ...string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.hide = append(ap.hide, types...)
}

// hideChallenges serves r through next and passes the authorization on
// without the challenges whose type is in hide. An answer that is not a
// JSON object is passed on unchanged.
func hideChallenges(w http.ResponseWriter, r *http.Request, next http.Handler, hide []string) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var authz map[string]any
	if json.Unmarshal(body, &authz) == nil {
		if chals, ok := authz["challenges"].([]any); ok {
			authz["challenges"] = slices.DeleteFunc(chals, func(c any) bool {
				m, _ := c.(map[string]any)
				t, _ := m["type"].(string)
				return slices.Contains(hide, t)
			})
			if b, err := json.Marshal(authz); err == nil {
				body = b
			}
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = bytes.NewReader(body).WriteTo(w)
}
