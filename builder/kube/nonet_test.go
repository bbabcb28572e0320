package kube

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/bpf"
)

// seccompData is struct seccomp_data as the filter's 32-bit loads see it. The kernel loads
// words in the host's order (little-endian on x86_64), x/net/bpf's VM in network order: each
// word is written big-endian at its little-endian place, so the VM reads what the kernel
// would (args[i]'s low half at 16+8i, its high half at 20+8i).
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	be := binary.BigEndian
	be.PutUint32(b[0:], nr)
	be.PutUint32(b[4:], arch)
	for i, a := range args {
		be.PutUint32(b[16+8*i:], uint32(a))
		be.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

func TestNonetFilter(t *testing.T) {
	vm, err := bpf.NewVM(nonetFilter())
	if err != nil {
		t.Fatal(err)
	}
	const (
		allow                      = seccompRetAllow
		refuse                     = seccompRetErrno | eAcces
		kill                       = seccompRetKillProcess
		x86                        = auditArchX8664
		i386                       = 0x40000003 // AUDIT_ARCH_I386
		arm64                      = 0xc00000b7 // AUDIT_ARCH_AARCH64
		afInet6, afPacket, afVsock = 10, 17, 40
		sockStream, sockDgram      = 1, 2
	)
	cases := []struct {
		name string
		data []byte
		want uint32
	}{
		{"socket AF_INET", seccompData(x86, sysSocket, afInet, sockStream), refuse},
		{"socket AF_INET6", seccompData(x86, sysSocket, afInet6, sockDgram), refuse},
		{"socket AF_PACKET", seccompData(x86, sysSocket, afPacket, 3), refuse},
		{"socket AF_VSOCK", seccompData(x86, sysSocket, afVsock, sockStream), refuse},
		{"socket AF_UNIX", seccompData(x86, sysSocket, afUnix, sockStream), allow},
		{"socket AF_NETLINK", seccompData(x86, sysSocket, afNetlink, 3), allow},
		// The kernel reads the family as an int: set high bits do not make AF_INET pass.
		{"socket AF_INET, high half set", seccompData(x86, sysSocket, 1<<32|afInet, sockStream), refuse},
		{"socket AF_UNIX, high half set", seccompData(x86, sysSocket, 1<<32|afUnix, sockStream), allow},
		{"socketpair AF_UNIX", seccompData(x86, sysSocketpair, afUnix, sockStream), allow},
		{"socketpair AF_INET", seccompData(x86, sysSocketpair, afInet, sockStream), refuse},
		{"io_uring_setup", seccompData(x86, sysIOUringSetup, 8, 0), refuse},
		{"ptrace", seccompData(x86, sysPtrace, 16, 1), refuse},
		{"process_vm_readv", seccompData(x86, sysProcessVMReadv, 1), refuse},
		{"process_vm_writev", seccompData(x86, sysProcessVMWrite, 1), refuse},
		{"write", seccompData(x86, sysWrite, 1), allow},
		{"execve", seccompData(x86, sysExecve), allow},
		{"connect (on a socket that could not be made)", seccompData(x86, 42, 3), allow},
		{"x32 socket", seccompData(x86, x32SyscallBit|sysSocket, afInet), kill},
		{"i386 socketcall", seccompData(i386, 102, 1), kill},
		{"i386 write", seccompData(i386, 4, 1), kill},
		{"arm64 socket", seccompData(arm64, 198, afInet), kill},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := vm.Run(c.data)
			if err != nil {
				t.Fatal(err)
			}
			if uint32(got) != c.want {
				t.Errorf("filter returned %#x, want %#x", got, c.want)
			}
		})
	}
}

func TestNonetIsAnExecutable(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(nonetBinary()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("class %v, machine %v, type %v: want a 64-bit x86_64 executable", f.Class, f.Machine, f.Type)
	}
	var load *elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			load = p
		case elf.PT_GNU_STACK:
			if p.Flags&elf.PF_X != 0 {
				t.Error("the stack is executable")
			}
		}
	}
	if load == nil || f.Entry < load.Vaddr || f.Entry >= load.Vaddr+load.Filesz || load.Flags&elf.PF_W != 0 {
		t.Errorf("entry %#x outside its read-only segment %+v", f.Entry, load)
	}
}

// TestNonetWrite writes nonet as the init container does, with each shell at hand.
func TestNonetWrite(t *testing.T) {
	shells := [][]string{{"dash"}, {"bash", "--posix"}, {"busybox", "sh"}}
	found := 0
	for _, sh := range shells {
		if _, err := exec.LookPath(sh[0]); err != nil {
			continue
		}
		found++
		t.Run(sh[0], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nonet")
			out, err := exec.Command(sh[0], append(sh[1:], "-c", nonetWrite(path))...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, nonetBinary()) {
				t.Errorf("%s wrote %d bytes that are not nonet (%d bytes)", sh[0], len(got), len(nonetBinary()))
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o555 {
				t.Errorf("mode %v (%v), want r-xr-xr-x", fi.Mode(), err)
			}
		})
	}
	if found == 0 {
		t.Skip("no dash, bash or busybox here")
	}
}

// nonetProbeEnv makes the test binary a probe that tries what the compile phase must not do.
const nonetProbeEnv = "OPENWRT_PPA_NONET_PROBE"

func init() {
	if spec := os.Getenv(nonetProbeEnv); spec != "" {
		os.Exit(nonetProbe(spec))
	}
}

// nonetProbe reads "tcpaddr unixpath" and prints one line per attempt: its name and "ok" or
// the error.
func nonetProbe(spec string) int {
	tcpAddr, unixPath, _ := strings.Cut(spec, " ")
	say := func(name string, err error) {
		if err == nil {
			fmt.Println(name, "ok")
			return
		}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			fmt.Println(name, errno.Error())
			return
		}
		fmt.Println(name, err)
	}
	dial := func(network, addr string) error {
		c, err := net.DialTimeout(network, addr, 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	say("tcp", dial("tcp4", tcpAddr))
	say("tcp6", dial("tcp6", "[::1]:9"))
	say("udp", dial("udp4", "127.0.0.1:9"))
	say("unix", dial("unix", unixPath))
	_, _, e := syscall.RawSyscall(sysIOUringSetup, 8, 0, 0)
	say("io_uring_setup", errnoOrNil(e))
	_, _, e = syscall.RawSyscall(syscall.SYS_PTRACE, syscall.PTRACE_PEEKUSR, uintptr(os.Getppid()), 0)
	say("ptrace", errnoOrNil(e))
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == "Seccomp_filters" {
			fmt.Println("filters", strings.TrimSpace(v))
		}
	}
	return 0
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func errnoOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// TestNonetCutsTheNetwork runs nonet on this machine: a real loopback listener is reached
// without it and refused under it, while a Unix socket still works.
func TestNonetCutsTheNetwork(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("nonet is an x86_64 Linux program")
	}
	dir := t.TempDir()
	nonet := filepath.Join(dir, "nonet")
	if err := os.WriteFile(nonet, nonetBinary(), 0o555); err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	unixPath := filepath.Join(dir, "sock")
	ul, err := net.Listen("unix", unixPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	var tcpConns, unixConns atomic.Int32
	serve := func(l net.Listener, n *atomic.Int32) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}
	go serve(tcp, &tcpConns)
	go serve(ul, &unixConns)

	probe := func(t *testing.T, argv ...string) map[string]string {
		t.Helper()
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), nonetProbeEnv+"="+tcp.Addr().String()+" "+unixPath)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			k, v, _ := strings.Cut(l, " ")
			got[k] = v
		}
		return got
	}
	waitFor := func(n *atomic.Int32, want int32) int32 {
		for i := 0; i < 50 && n.Load() < want; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		return n.Load()
	}

	free := probe(t, os.Args[0])
	if free["tcp"] != "ok" || free["unix"] != "ok" {
		t.Fatalf("without nonet the probe could not connect (so the test proves nothing): %v", free)
	}
	if waitFor(&tcpConns, 1) != 1 {
		t.Fatal("the listener saw no connection without nonet")
	}
	before := free["filters"]

	denied := syscall.EACCES.Error()
	got := probe(t, nonet, os.Args[0])
	for _, k := range []string{"tcp", "tcp6", "udp", "io_uring_setup", "ptrace"} {
		if got[k] != denied {
			t.Errorf("under nonet %s: %q, want %q", k, got[k], denied)
		}
	}
	if got["unix"] != "ok" {
		t.Errorf("under nonet a Unix socket: %q, want ok", got["unix"])
	}
	if waitFor(&unixConns, 2) != 2 {
		t.Error("the Unix listener did not see the connection made under nonet")
	}
	if n := tcpConns.Load(); n != 1 {
		t.Errorf("the loopback listener saw %d connections, want only the one made without nonet", n)
	}
	if b, err := strconv.Atoi(before); err == nil && atoiOr(got["filters"], -1) != b+1 {
		t.Errorf("Seccomp_filters %q under nonet, %q without: no filter was added", got["filters"], before)
	}
}

// TestNonetRefusesToRunNothing: without a program nonet says how to use it and fails.
func TestNonetRefusesToRunNothing(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("nonet is an x86_64 Linux program")
	}
	nonet := filepath.Join(t.TempDir(), "nonet")
	if err := os.WriteFile(nonet, nonetBinary(), 0o555); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitNoExec, "usage: nonet PROGRAM"},
		{[]string{"/nonexistent/program"}, exitNoExec, "execve failed"},
	} {
		out, err := exec.Command(nonet, c.args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != c.code || !strings.Contains(string(out), c.msg) {
			t.Errorf("nonet %v: %v, %q; want status %d saying %q", c.args, err, out, c.code, c.msg)
		}
	}
}

// TestBuildWrapperPhases runs the build container's PID 1 in a PID namespace of its own, as
// in a pod: the download phase reaches a loopback listener, the compile phase does not, and
// nothing the download phase left running survives into the compile phase.
func TestBuildWrapperPhases(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("nonet is an x86_64 Linux program")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and unshare(1) for a PID namespace of its own (kill -1 must not reach this machine's processes)")
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	const driver = `say() { while read -r l; do echo "$OPENWRT_PPA_PHASE $l"; done; }
case $OPENWRT_PPA_PHASE in
fetch)
	sleep 1000 & echo $! > "$LEFTOVER"
	"$PROBE" | say
	exit "${FETCH_STATUS:-0}";;
build)
	st=gone; p=$(cat "$LEFTOVER")
	if [ -r "/proc/$p/stat" ]; then read -r _ _ st _ < "/proc/$p/stat"; fi
	echo "build leftover $st"
	"$PROBE" | say
	echo "::openwrt-ppa:: done";;
esac
`
	cases := []struct {
		name  string
		nonet bool // else a stand-in that runs the compile phase without the filter
		shell string
		env   []string
		code  int
		want  []string
		not   []string
	}{
		{name: "two phases", nonet: true, want: []string{
			"fetch tcp ok", "fetch filters 0",
			"::openwrt-ppa:: phase build: no network (only Unix and netlink sockets)",
			"build tcp " + syscall.EACCES.Error(), "build tcp6 " + syscall.EACCES.Error(), "build filters 1",
			"::openwrt-ppa:: done",
		}, not: []string{"build leftover S", "build leftover R"}},
		{name: "two phases, busybox PID 1", shell: "busybox", nonet: true, want: []string{
			"fetch tcp ok", "fetch filters 0",
			"::openwrt-ppa:: phase build: no network (only Unix and netlink sockets)",
			"build tcp " + syscall.EACCES.Error(), "build tcp6 " + syscall.EACCES.Error(), "build filters 1",
			"::openwrt-ppa:: done",
		}, not: []string{"build leftover S", "build leftover R"}},
		{name: "a failed download phase ends the job", nonet: true, env: []string{"FETCH_STATUS=3"}, code: 3,
			want: []string{"fetch tcp ok"}, not: []string{"phase build", "build tcp"}},
		{name: "no filter, no compile phase", code: exitNoFilter,
			want: []string{"the compile phase is not under nonet's seccomp filter (Seccomp_filters 0 before, 0 under it"},
			not:  []string{"build tcp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			nonet := "/usr/bin/env" // runs its arguments as nonet does, without the filter
			if c.nonet {
				nonet = filepath.Join(dir, "nonet")
				if err := os.WriteFile(nonet, nonetBinary(), 0o555); err != nil {
					t.Fatal(err)
				}
			}
			ready := filepath.Join(dir, "ready")
			if err := os.WriteFile(ready, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			script := strings.NewReplacer(nonetPath, nonet, readyFile, ready).Replace(buildWrapper)
			sh := []string{"/bin/sh"}
			if c.shell != "" {
				p, err := exec.LookPath(c.shell)
				if err != nil {
					t.Skip(err)
				}
				sh = []string{p, "sh"} // busybox, as in the stand-in
			}
			cmd := exec.Command(unshare, append([]string{"--pid", "--fork", "--mount-proc"}, append(sh, "-c", script, "openwrt-ppa-build", driver, compileWrapper)...)...)
			cmd.Env = append(os.Environ(), "OPENWRT_PPA_TIMEOUT=60", "PROBE="+os.Args[0], "LEFTOVER="+filepath.Join(dir, "leftover"),
				nonetProbeEnv+"="+tcp.Addr().String()+" "+filepath.Join(dir, "no-socket"))
			cmd.Env = append(cmd.Env, c.env...)
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("status %d, want %d", code, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("no %q in the output", w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(string(out), n) {
					t.Errorf("%q in the output", n)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}
