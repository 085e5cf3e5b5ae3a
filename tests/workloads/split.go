// SPDX-License-Identifier: Apache-2.0
// The known 3:1 split in Go: two goroutines on one P, each yielding after every unit of work,
// so workerA (hotA, 3 units per turn) gets three times the CPU of workerB (hotB, 1 unit).
// Asynchronous preemption (after 10 ms) would break the strict alternation, so the program
// re-executes itself with it off.
// usage: split_go SECONDS
package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var sink uint64

//go:noinline
func burn(n uint64) {
	for i := uint64(0); i < n; i++ {
		sink += i * 7
	}
}

//go:noinline
func hotA(n uint64) { burn(n); runtime.KeepAlive(n) }

//go:noinline
func hotB(n uint64) { burn(n); runtime.KeepAlive(n) }

func workerA(end time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	for time.Now().Before(end) {
		hotA(4500000) // turns of milliseconds: no aliasing with sampling
		runtime.Gosched()
	}
}

func workerB(end time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	for time.Now().Before(end) {
		hotB(1500000)
		runtime.Gosched()
	}
}

func main() {
	if !strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
		exe, err := os.Executable()
		if err == nil {
			env := append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
			syscall.Exec(exe, os.Args, env)
		}
	}
	seconds := 5.0
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	runtime.GOMAXPROCS(1)
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	wg.Add(2)
	go workerA(end, &wg)
	go workerB(end, &wg)
	wg.Wait()
}
