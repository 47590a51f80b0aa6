package controller

import (
	"testing"
	"time"
)

func TestQueueCollapsesDuplicates(t *testing.T) {
	q := newQueue(false)
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if n := waiting(q); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if n, _ := q.Get(); n != "a" {
		t.Fatalf("first Get = %q, want a", n)
	}
}

func TestQueueNeverHandsOutARunningKeyAndRequeuesDirty(t *testing.T) {
	q := newQueue(false)
	q.Add("a")
	name, _ := q.Get()
	q.Add("a") // dirtied while processing
	if n := waiting(q); n != 0 {
		t.Fatalf("a running key must not be queued twice; Len = %d", n)
	}
	got := make(chan string, 1)
	go func() { n, _ := q.Get(); got <- n }()
	select {
	case n := <-got:
		t.Fatalf("Get returned %q while a was still processing", n)
	case <-time.After(50 * time.Millisecond):
	}
	q.Done(name)
	select {
	case n := <-got:
		if n != "a" {
			t.Fatalf("Get = %q, want a", n)
		}
	case <-time.After(time.Second):
		t.Fatal("dirty key was not re-queued after Done")
	}
}

func TestQueueAddAfterAndShutdown(t *testing.T) {
	q := newQueue(false)
	q.AddAfter("a", 20*time.Millisecond)
	q.AddAfter("a", 30*time.Millisecond) // replaces the first timer
	start := time.Now()
	n, ok := q.Get()
	if !ok || n != "a" || time.Since(start) < 25*time.Millisecond {
		t.Fatalf("Get = %q %v after %v", n, ok, time.Since(start))
	}
	q.Done("a")
	if waiting(q) != 0 {
		t.Fatal("replaced timer fired twice")
	}
	q.ShutDown()
	if _, ok := q.Get(); ok {
		t.Fatal("Get after ShutDown returned ok")
	}
}

// waiting returns the number of names waiting (not processing).
func waiting(q *queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}
