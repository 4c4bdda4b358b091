package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// machine is what a run ran on.
type machine struct {
	CPU       string            `json:"cpu"`
	Cores     int               `json:"cores"`
	MemoryGiB float64           `json:"memoryGiB"`
	Kernel    string            `json:"kernel"`
	Go        string            `json:"go"`
	Tools     map[string]string `json:"tools"`
	Date      string            `json:"date"`
	LoadStart string            `json:"loadAverageStart"`
	LoadEnd   string            `json:"loadAverageEnd"`
}

// machineNow describes this machine now.
func machineNow(ctx context.Context, tools map[string]string) machine {
	return machine{
		CPU:       cpuModel(),
		Cores:     runtime.NumCPU(),
		MemoryGiB: memTotalGiB(),
		Kernel:    kernel(),
		Go:        goVersion(ctx),
		Tools:     tools,
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		LoadStart: loadAverage(),
	}
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotalGiB() float64 {
	data, _ := os.ReadFile("/proc/meminfo")
	b, _ := kBField(string(data), "MemTotal") // 0 when unknown
	return float64(int(float64(b)/(1<<30)*10)) / 10
}

func kernel() string {
	data, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(data))
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
}

// toolVersions returns the versions of HAProxy, nginx and wrk.
func toolVersions(ctx context.Context) map[string]string {
	out := map[string]string{}
	version := regexp.MustCompile(`\d+\.\d+(\.\d+)?`)
	for bin, flag := range map[string]string{"haproxy": "-v", "nginx": "-v", "wrk": "-v"} {
		text, _ := exec.CommandContext(ctx, bin, flag).CombinedOutput()
		out[bin] = version.FindString(string(text))
	}
	return out
}
