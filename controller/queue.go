package controller

import (
	"sync"
	"time"
)

// queue is a work queue of certificate names with client-go workqueue
// semantics: a name waiting is stored once however often it is added; a
// name is handed to one worker at a time; a name added while being
// processed is processed again after Done. A one-shot queue (run --once)
// ignores AddAfter: nothing is retried later in that run.
type queue struct {
	oneShot    bool
	mu         sync.Mutex
	cond       *sync.Cond // wakes Get
	idleCond   *sync.Cond // wakes WaitIdle
	order      []string
	dirty      map[string]bool
	processing map[string]bool
	timers     map[string]*time.Timer
	shutdown   bool
}

func newQueue(oneShot bool) *queue {
	q := &queue{
		oneShot:    oneShot,
		dirty:      map[string]bool{},
		processing: map[string]bool{},
		timers:     map[string]*time.Timer{},
	}
	q.cond = sync.NewCond(&q.mu)
	q.idleCond = sync.NewCond(&q.mu)
	return q
}

// Add marks name as needing work.
func (q *queue) Add(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(name)
}

func (q *queue) addLocked(name string) {
	if q.shutdown || q.dirty[name] {
		return
	}
	q.dirty[name] = true
	if q.processing[name] {
		return // re-queued by Done
	}
	q.order = append(q.order, name)
	q.cond.Signal()
}

// AddAfter adds name once d has passed. A later AddAfter for the same name
// replaces the earlier one, so each name has at most one timer.
func (q *queue) AddAfter(name string, d time.Duration) {
	if q.oneShot {
		return
	}
	if d <= 0 {
		q.Add(name)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	if t := q.timers[name]; t != nil {
		t.Stop()
	}
	q.timers[name] = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		delete(q.timers, name)
		q.addLocked(name)
	})
}

// Get blocks until a name is ready or the queue shuts down (ok false).
func (q *queue) Get() (name string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.order) == 0 {
		return "", false
	}
	name, q.order = q.order[0], q.order[1:]
	q.processing[name] = true
	delete(q.dirty, name)
	return name, true
}

// Done marks the end of processing name; if it was added meanwhile, it is
// queued again. It reports whether the queue is now idle (nothing waiting
// or being processed; names waiting on an AddAfter timer do not count).
func (q *queue) Done(name string) (idle bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, name)
	if q.dirty[name] && !q.shutdown {
		q.order = append(q.order, name)
		q.cond.Signal()
	}
	idle = len(q.order) == 0 && len(q.processing) == 0
	if idle {
		q.idleCond.Broadcast()
	}
	return idle
}

// WaitIdle blocks until nothing is waiting or being processed; false when
// the queue shut down first.
func (q *queue) WaitIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for (len(q.order) > 0 || len(q.processing) > 0) && !q.shutdown {
		q.idleCond.Wait()
	}
	return !q.shutdown
}

// ShutDown wakes all waiters; Get then returns ok false.
func (q *queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	for _, t := range q.timers {
		t.Stop()
	}
	q.cond.Broadcast()
	q.idleCond.Broadcast()
}
