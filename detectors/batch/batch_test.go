package batch

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestOrderKept(t *testing.T) {
	n := 0
	var got []int
	err := Run(4, func() (int, bool) {
		n++
		return n, n <= 500
	}, func(i int) int {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		return i * 2
	}, func(o int) error {
		got = append(got, o)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("%d results, want 500", len(got))
	}
	for i, o := range got {
		if o != (i+1)*2 {
			t.Fatalf("result %d = %d, want %d", i, o, (i+1)*2)
		}
	}
}

func TestEmitErrorStops(t *testing.T) {
	boom := errors.New("boom")
	read := 0
	err := Run(2, func() (int, bool) {
		read++
		return read, true // endless input
	}, func(i int) int { return i }, func(o int) error {
		if o == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if read > 100 {
		t.Fatalf("read %d items after the error; the window should bound it", read)
	}
}
