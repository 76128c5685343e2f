package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine names the machine a result was taken on.
type machine struct {
	cpu        string
	cores      int
	goVersion  string
	gomaxprocs int
	osArch     string
	date       string
}

func describeMachine() machine {
	return machine{
		cpu:        cpuModel(),
		cores:      runtime.NumCPU(),
		goVersion:  runtime.Version(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		osArch:     runtime.GOOS + "/" + runtime.GOARCH,
		date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
	}
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown (" + runtime.GOARCH + ")"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return "unknown (" + runtime.GOARCH + ")"
}

// header is the block every result file starts with.
func (m machine) header(command string) string {
	return fmt.Sprintf("Machine: %s, %d cores (runtime.NumCPU), %s, %s, GOMAXPROCS=%d at start; %s.  \nCommand: `%s`\n",
		m.cpu, m.cores, m.goVersion, m.osArch, m.gomaxprocs, m.date, command)
}
