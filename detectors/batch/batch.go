// Package batch scans a stream of documents with several workers and
// returns the results in input order, holding only a bounded window of
// documents in memory: a 100 MB JSONL file is scanned in constant memory.
package batch

import (
	"runtime"
	"sync"
)

// Run reads items with next until it returns ok false, processes each with
// work on workers goroutines (the number of CPUs when 0), and calls emit
// with the results in the order the items were read. At most 4×workers
// items are in flight. emit runs on the caller's goroutine; an error from
// emit stops the run (items in flight are finished and dropped).
func Run[In, Out any](workers int, next func() (In, bool), work func(In) Out, emit func(Out) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct {
		in   In
		out  Out
		done chan struct{}
	}
	jobs := make(chan *job, workers)
	order := make(chan *job, 4*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out = work(j.in)
				close(j.done)
			}
		}()
	}
	stop := make(chan struct{})
	go func() {
		defer close(order)
		defer close(jobs)
		for {
			in, ok := next()
			if !ok {
				return
			}
			j := &job{in: in, done: make(chan struct{})}
			select {
			case order <- j:
			case <-stop:
				return
			}
			jobs <- j
		}
	}()
	var err error
	for j := range order {
		<-j.done
		if err == nil {
			if err = emit(j.out); err != nil {
				close(stop)
			}
		}
	}
	wg.Wait()
	return err
}
