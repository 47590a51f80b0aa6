package deliver

import "time"

// waiting reports whether the service's last update with the references
// key failed and may not be sent again yet.
func (d *Deliverer) waiting(svc, key string) (failure, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.failed[svc]
	return f, ok && f.key == key && d.opts.Now().Before(f.next)
}

// recordFailure remembers a failed update of svc with the references key.
func (d *Deliverer) recordFailure(svc, key string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.failed[svc]
	if f.key != key {
		f = failure{key: key}
	}
	f.count++
	f.err = err
	f.next = d.opts.Now().Add(backoff(d.opts.Backoff, d.opts.MaxBackoff, f.count))
	d.failed[svc] = f
}

// clearFailure forgets svc's failure once it holds key (or another set of
// references is wanted).
func (d *Deliverer) clearFailure(svc, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.failed[svc]; ok && f.key == key {
		delete(d.failed, svc)
	}
}

// backoff is the wait after the n-th consecutive failure: first, doubled
// per failure, at most limit.
func backoff(first, limit time.Duration, n int) time.Duration {
	w := first
	for i := 1; i < n && w < limit; i++ {
		w *= 2
	}
	return min(w, limit)
}
