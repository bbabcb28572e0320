package kube

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/net/bpf"
)

// The compile phase of a build pod runs with no network. A pod cannot leave its network
// namespace, a NetworkPolicy is only as good as the cluster's CNI (the bridge plugin enforces
// none), and unshare(CLONE_NEWNET) is refused under the runtime's seccomp profile. What any
// unprivileged process may do is add a seccomp filter of its own once it has set
// no_new_privs, and filters only add up: nothing it starts can shed them. So the build
// container's PID 1 execs nonet after the download phase: a tiny static x86_64 program,
// generated here (no cgo, no binary in the repository), that installs the filter and execs
// its arguments. Under it socket() is refused (EACCES) for every family but AF_UNIX and
// AF_NETLINK, which covers IPv4 and IPv6 including loopback, packet sockets and the rest;
// io_uring_setup is refused too (its IORING_OP_SOCKET makes sockets without socket()), and
// ptrace and the process_vm_* calls (ways into a process outside the filter); a system call
// of another ABI (i386's socketcall, x32) kills the process, as the numbers checked are
// x86_64's.

// Values of linux/seccomp.h, linux/audit.h and asm/unistd_64.h.
const (
	seccompRetKillProcess = 0x80000000
	seccompRetErrno       = 0x00050000
	seccompRetAllow       = 0x7fff0000
	auditArchX8664        = 0xc000003e
	x32SyscallBit         = 0x40000000

	sysWrite          = 1
	sysSocket         = 41
	sysSocketpair     = 53
	sysExecve         = 59
	sysPtrace         = 101
	sysPrctl          = 157
	sysExitGroup      = 231
	sysProcessVMReadv = 310
	sysProcessVMWrite = 311
	sysSeccomp        = 317
	sysIOUringSetup   = 425

	afUnix    = 1
	afInet    = 2
	afNetlink = 16
	eAcces    = 13

	prSetNoNewPrivs             = 38
	seccompSetModeFilter        = 1
	seccompDataNr               = 0
	seccompDataArch             = 4
	seccompDataArg0             = 16 // args[0]; the low half on little-endian x86_64
	nonetVaddr           uint64 = 0x400000
)

// Exit statuses of nonet when it could not cut the network: the build does not start.
const (
	exitNoFilter = 91  // no_new_privs, the filter, or the filter's own test failed
	exitNoExec   = 127 // nothing to run, or execve failed
)

// nonetFilter is the seccomp filter nonet installs. socket() and socketpair() take the
// family as an int: the low 32 bits of args[0] are all the kernel looks at.
func nonetFilter() []bpf.Instruction {
	refuse := bpf.RetConstant{Val: seccompRetErrno | eAcces}
	return []bpf.Instruction{
		/* 0 */ bpf.LoadAbsolute{Off: seccompDataArch, Size: 4},
		/* 1 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: auditArchX8664, SkipTrue: 1},
		/* 2 */ bpf.RetConstant{Val: seccompRetKillProcess},
		/* 3 */ bpf.LoadAbsolute{Off: seccompDataNr, Size: 4},
		/* 4 */ bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
		/* 5 */ bpf.RetConstant{Val: seccompRetKillProcess},
		/* 6 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysSocket, SkipTrue: 7},
		/* 7 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysSocketpair, SkipTrue: 6},
		/* 8 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysIOUringSetup, SkipTrue: 4},
		/* 9 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysPtrace, SkipTrue: 3},
		/* 10 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysProcessVMReadv, SkipTrue: 2},
		/* 11 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: sysProcessVMWrite, SkipTrue: 1},
		/* 12 */ bpf.RetConstant{Val: seccompRetAllow},
		/* 13 */ refuse,
		/* 14 */ bpf.LoadAbsolute{Off: seccompDataArg0, Size: 4},
		/* 15 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: afUnix, SkipTrue: 2},
		/* 16 */ bpf.JumpIf{Cond: bpf.JumpEqual, Val: afNetlink, SkipTrue: 1},
		/* 17 */ refuse,
		/* 18 */ bpf.RetConstant{Val: seccompRetAllow},
	}
}

// nonetBinary is the program, built once.
var nonetBinary = sync.OnceValue(func() []byte {
	b, err := buildNonet()
	if err != nil {
		panic("kube: building nonet: " + err.Error()) // a bug of this file, found by its tests
	}
	return b
})

// buildNonet writes nonet: an ELF executable of one read-only, executable segment holding
// the code, the filter and the messages. At the entry point the stack holds argc, argv[],
// NULL, envp[], as the kernel leaves it for a static program.
func buildNonet() ([]byte, error) {
	raw, err := bpf.Assemble(nonetFilter())
	if err != nil {
		return nil, err
	}
	const ehdrSize, phdrSize, nPhdr = 64, 56, 2
	a := newAsm(nonetVaddr + ehdrSize + phdrSize*nPhdr)

	// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0): what lets an unprivileged process add a filter.
	a.movEAX(sysPrctl).movEDI(prSetNoNewPrivs).movESI(1).xorEDX().xorR10D().xorR8D().syscall()
	a.testRAX().jnz("no-nnp")
	// seccomp(SECCOMP_SET_MODE_FILTER, 0, &fprog)
	a.movEAX(sysSeccomp).movEDI(seccompSetModeFilter).movESI(0).movEDXAddr("fprog").syscall()
	a.testRAX().jnz("no-filter")
	// The filter tests itself: an AF_INET socket must be refused with EACCES.
	a.movEAX(sysSocket).movEDI(afInet).movESI(1).xorEDX().syscall()
	a.cmpRAX(-eAcces).jnz("leak")
	// execve(argv[1], &argv[1], envp)
	a.movRCXArgc().cmpRCX(2).jl("usage")
	a.leaRSIArgv1().movRDIFromRSI().leaRDXEnvp().movEAX(sysExecve).syscall()
	a.fail("exec", "nonet: execve failed (is the program there?)\n", exitNoExec)
	a.fail("usage", "nonet: usage: nonet PROGRAM [ARGUMENT...]\n", exitNoExec)
	a.fail("no-nnp", "nonet: prctl(PR_SET_NO_NEW_PRIVS) failed: the compile phase cannot be cut off the network\n", exitNoFilter)
	a.fail("no-filter", "nonet: seccomp(SECCOMP_SET_MODE_FILTER) failed (a kernel without seccomp filters?): the compile phase cannot be cut off the network\n", exitNoFilter)
	a.fail("leak", "nonet: the filter let an AF_INET socket through: the compile phase is not cut off the network\n", exitNoFilter)

	// struct sock_fprog { unsigned short len; struct sock_filter *filter; }, 8-aligned.
	a.align(8)
	a.label("fprog")
	a.u64(uint64(len(raw)))
	a.addr64("filter")
	a.label("filter")
	for _, ins := range raw {
		a.u16(ins.Op)
		a.code = append(a.code, ins.Jt, ins.Jf)
		a.u32(ins.K)
	}
	body, err := a.link()
	if err != nil {
		return nil, err
	}

	size := uint64(ehdrSize + phdrSize*nPhdr + len(body))
	le := binary.LittleEndian
	out := make([]byte, 0, size)
	out = append(out, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V */)
	out = append(out, make([]byte, 8)...)
	out = le.AppendUint16(out, 2)  // ET_EXEC
	out = le.AppendUint16(out, 62) // EM_X86_64
	out = le.AppendUint32(out, 1)
	out = le.AppendUint64(out, a.base) // entry: the first instruction
	out = le.AppendUint64(out, ehdrSize)
	out = le.AppendUint64(out, 0) // no section headers
	out = le.AppendUint32(out, 0)
	out = le.AppendUint16(out, ehdrSize)
	out = le.AppendUint16(out, phdrSize)
	out = le.AppendUint16(out, nPhdr)
	out = le.AppendUint16(out, 0)
	out = le.AppendUint16(out, 0)
	out = le.AppendUint16(out, 0)
	// PT_LOAD of the whole file, read and execute.
	out = le.AppendUint32(out, 1)
	out = le.AppendUint32(out, 5)
	out = le.AppendUint64(out, 0)
	out = le.AppendUint64(out, nonetVaddr)
	out = le.AppendUint64(out, nonetVaddr)
	out = le.AppendUint64(out, size)
	out = le.AppendUint64(out, size)
	out = le.AppendUint64(out, 0x1000)
	// PT_GNU_STACK, read and write: the stack is not executable.
	out = le.AppendUint32(out, 0x6474e551)
	out = le.AppendUint32(out, 6)
	out = append(out, make([]byte, 6*8)...)
	return append(out, body...), nil
}

// nonetWrite is the init container's command that writes nonet to path: printf with octal
// escapes, which every /bin/sh has, so the image needs no decoder.
func nonetWrite(path string) string {
	var b strings.Builder
	b.WriteString("printf '")
	for _, c := range nonetBinary() {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteString("' > " + path + " && chmod 555 " + path)
	return b.String()
}

// asm is just enough of an x86_64 assembler for nonet: the instructions it uses, labels,
// 32-bit relative jumps and absolute addresses (the program is not position independent).
type asm struct {
	base   uint64 // the address of code[0]
	code   []byte
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at    int // where the value goes
	label string
	rel   bool // rel32 from the end of the field, else an absolute address
	size  int  // 4 or 8
}

func newAsm(base uint64) *asm { return &asm{base: base, labels: map[string]int{}} }

func (a *asm) emit(b ...byte) *asm { a.code = append(a.code, b...); return a }
func (a *asm) u16(v uint16) *asm   { a.code = binary.LittleEndian.AppendUint16(a.code, v); return a }
func (a *asm) u32(v uint32) *asm   { a.code = binary.LittleEndian.AppendUint32(a.code, v); return a }
func (a *asm) u64(v uint64) *asm   { a.code = binary.LittleEndian.AppendUint64(a.code, v); return a }

func (a *asm) ref(label string, rel bool, size int) *asm {
	a.fixups = append(a.fixups, fixup{at: len(a.code), label: label, rel: rel, size: size})
	a.code = append(a.code, make([]byte, size)...)
	return a
}

func (a *asm) label(name string) { a.labels[name] = len(a.code) }

func (a *asm) align(n int) {
	for len(a.code)%n != 0 {
		a.code = append(a.code, 0xcc) // int3: never reached
	}
}

func (a *asm) movEAX(v uint32) *asm       { return a.emit(0xb8).u32(v) }
func (a *asm) movEDI(v uint32) *asm       { return a.emit(0xbf).u32(v) }
func (a *asm) movESI(v uint32) *asm       { return a.emit(0xbe).u32(v) }
func (a *asm) movEDX(v uint32) *asm       { return a.emit(0xba).u32(v) }
func (a *asm) movESIAddr(l string) *asm   { return a.emit(0xbe).ref(l, false, 4) }
func (a *asm) movEDXAddr(l string) *asm   { return a.emit(0xba).ref(l, false, 4) }
func (a *asm) addr64(l string) *asm       { return a.ref(l, false, 8) }
func (a *asm) xorEDX() *asm               { return a.emit(0x31, 0xd2) }
func (a *asm) xorR10D() *asm              { return a.emit(0x45, 0x31, 0xd2) }
func (a *asm) xorR8D() *asm               { return a.emit(0x45, 0x31, 0xc0) }
func (a *asm) syscall() *asm              { return a.emit(0x0f, 0x05) }
func (a *asm) testRAX() *asm              { return a.emit(0x48, 0x85, 0xc0) }
func (a *asm) cmpRAX(v int8) *asm         { return a.emit(0x48, 0x83, 0xf8, byte(v)) }
func (a *asm) cmpRCX(v int8) *asm         { return a.emit(0x48, 0x83, 0xf9, byte(v)) }
func (a *asm) jnz(l string) *asm          { return a.emit(0x0f, 0x85).ref(l, true, 4) }
func (a *asm) jl(l string) *asm           { return a.emit(0x0f, 0x8c).ref(l, true, 4) }
func (a *asm) movRCXArgc() *asm           { return a.emit(0x48, 0x8b, 0x0c, 0x24) }       // mov rcx, [rsp]
func (a *asm) leaRSIArgv1() *asm          { return a.emit(0x48, 0x8d, 0x74, 0x24, 0x10) } // lea rsi, [rsp+16]
func (a *asm) movRDIFromRSI() *asm        { return a.emit(0x48, 0x8b, 0x3e) }             // mov rdi, [rsi]
func (a *asm) leaRDXEnvp() *asm           { return a.emit(0x48, 0x8d, 0x54, 0xcc, 0x10) } // lea rdx, [rsp+rcx*8+16]
func (a *asm) exitGroup(code uint32) *asm { return a.movEAX(sysExitGroup).movEDI(code).syscall() }
func (a *asm) writeStderr(l string, n int) *asm {
	return a.movEAX(sysWrite).movEDI(2).movESIAddr(l).movEDX(uint32(n)).syscall()
}

// fail is a labelled block that writes msg to stderr and exits with code; the message
// goes right after the code of the block.
func (a *asm) fail(name, msg string, code uint32) {
	a.label(name)
	a.writeStderr(name+".msg", len(msg)).exitGroup(code)
	a.label(name + ".msg")
	a.code = append(a.code, msg...)
}

// link fills in the jumps and addresses.
func (a *asm) link() ([]byte, error) {
	le := binary.LittleEndian
	for _, f := range a.fixups {
		off, ok := a.labels[f.label]
		if !ok {
			return nil, fmt.Errorf("no label %q", f.label)
		}
		switch {
		case f.rel:
			le.PutUint32(a.code[f.at:], uint32(int32(off-(f.at+4))))
		case f.size == 4:
			addr := a.base + uint64(off)
			if addr > 0xffffffff {
				return nil, fmt.Errorf("label %q at %#x is beyond 32 bits", f.label, addr)
			}
			le.PutUint32(a.code[f.at:], uint32(addr))
		default:
			le.PutUint64(a.code[f.at:], a.base+uint64(off))
		}
	}
	return a.code, nil
}
