package secrets

import "strings"

// Secret is what the caller knows of one existing Swarm secret.
type Secret struct {
	ID, Name string
	Labels   map[string]string
}

// Garbage returns the secrets certdock created (Managed) that nothing
// refers to, in the order given; a secret without certdock's label is
// never returned. referenced must answer true for every secret name in
// any service's Spec or PreviousSpec (Swarm itself only protects the
// Spec, and a rollback needs the PreviousSpec's secrets), and for the
// names the current pass is about to refer to, so a secret created for an
// update that has not happened yet stays. Referenced builds it. The
// caller removes by ID, so a secret re-created under the same name since
// the listing is not hit.
func Garbage(secrets []Secret, referenced func(name string) bool) []Secret {
	var out []Secret
	for _, s := range secrets {
		if Managed(s.Labels) && !referenced(s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// Referenced returns a referenced function for Garbage answering true for
// every secret name in lists (regardless of case, as Swarm compares
// names): pass each service's Spec and PreviousSpec references and the
// references the pass wants.
func Referenced(lists ...[]Ref) func(name string) bool {
	names := map[string]bool{}
	for _, l := range lists {
		for _, r := range l {
			names[strings.ToLower(r.SecretName)] = true
		}
	}
	return func(name string) bool { return names[strings.ToLower(name)] }
}
