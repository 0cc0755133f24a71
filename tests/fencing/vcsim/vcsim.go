// SPDX-License-Identifier: GPL-2.0-or-later
//
// A vCenter for tests: govmomi's simulator (VPX model) from Debian's
// golang-github-vmware-govmomi-dev, served over TLS on loopback with a certificate the test
// fixture generated, with named VMs and BIOS UUIDs, one fixed username/password, and hooks the
// lab tests need. Built in GOPATH mode (no modules, no downloads) by the test fixture.
//
// It prints "URL https://127.0.0.1:PORT/sdk" and then "READY" on stdout once it accepts
// connections, and exits when its stdin is closed (so it never outlives the test) or on SIGTERM.
// Each line on stdin is a command, answered with one line on stdout:
//
//	counts                   COUNTS logins=N sessions=N connections=N METHOD=N ... (calls received)
//	sessions                 SESSIONS KEY ... (cookies of the live sessions)
//	terminate-sessions       OK N: every session ends, as an administrator can do
//	set NAME MILLISECONDS    OK: login-delay-ms, call-delay-ms or task-ms (as the flags)
//
// realistic.go makes it behave like a real vCenter where timing and sessions matter.
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// powerHook runs a command synchronously whenever a VM's runtime.powerState becomes
// poweredOff (or poweredOn), inside the simulator's power task and before the task reports
// success, the way a real host dies before vCenter says it is off (and boots when it says on).
type powerHook struct {
	self   types.ManagedObjectReference
	offCmd string
	onCmd  string
}

func (h *powerHook) Reference() types.ManagedObjectReference   { return h.self }
func (h *powerHook) PutObject(mo.Reference)                    {}
func (h *powerHook) RemoveObject(types.ManagedObjectReference) {}

func (h *powerHook) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	if !ok {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		command := ""
		switch fmt.Sprint(c.Val) {
		case string(types.VirtualMachinePowerStatePoweredOff):
			command = h.offCmd
		case string(types.VirtualMachinePowerStatePoweredOn):
			command = h.onCmd
		}
		if command == "" {
			continue
		}
		uuid := ""
		if vm.Config != nil {
			uuid = vm.Config.Uuid
		}
		cmd := exec.Command(command, vm.Name, uuid)
		cmd.Stdout = os.Stderr
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			log.Printf("vcsim: power hook %s %s %s: %v", command, vm.Name, uuid, err)
		}
	}
}

// signalled receives once SIGTERM or SIGINT arrives.
func signalled(stop chan<- struct{}) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	stop <- struct{}{}
}

// serveCommands answers stdin commands until stdin closes: the parent (the test) went away or
// asked us to stop.
func serveCommands(answer func(string) string, stop chan<- struct{}) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		fmt.Println(answer(line)) // one Write: the fixture reads whole lines
	}
	stop <- struct{}{}
}

func commands(door *frontDoor, k *knobs) func(string) string {
	return func(line string) string {
		f := strings.Fields(line)
		switch {
		case f[0] == "counts" && len(f) == 1:
			return "COUNTS " + door.counts()
		case f[0] == "sessions" && len(f) == 1:
			return strings.TrimSpace("SESSIONS " + strings.Join(door.sessionKeys(), " "))
		case f[0] == "terminate-sessions" && len(f) == 1:
			return fmt.Sprintf("OK %d", door.terminateAll())
		case f[0] == "set" && len(f) == 3:
			ms, err := strconv.Atoi(f[2])
			if err == nil && ms >= 0 && k.set(f[1], time.Duration(ms)*time.Millisecond) {
				return "OK"
			}
		}
		return "ERR cannot do: " + line
	}
}

// hang accepts connections and never answers: a vCenter that is up but stuck.
func hang(listen string) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		log.Fatalf("vcsim: listen %s: %v", listen, err)
	}
	fmt.Printf("URL https://%s/sdk\nREADY\n", l.Addr().String())
	var held []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		held = append(held, c) // keep it open, read nothing, write nothing
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback, or an address in a test's own network namespace)")
	certFile := flag.String("cert", "", "PEM certificate for TLS (required unless -hang)")
	keyFile := flag.String("key", "", "PEM private key for TLS")
	username := flag.String("username", "", "the only username accepted (required unless -hang)")
	passwordFile := flag.String("password-file", "", "file holding the only password accepted")
	extra := flag.Int("extra-vms", 0, "VMs to create besides the named ones")
	hangMode := flag.Bool("hang", false, "accept connections and never answer")
	onPowerOff := flag.String("on-power-off", "", "command run as CMD VM_NAME BIOS_UUID inside every power-off, before the task completes")
	onPowerOn := flag.String("on-power-on", "", "command run as CMD VM_NAME BIOS_UUID inside every power-on, before the task completes")
	loginDelay := flag.Int("login-delay-ms", 0, "every Login takes this long (vCenter's SSO takes 0.3-1 s)")
	callDelay := flag.Int("call-delay-ms", 0, "every SOAP call takes this long")
	taskTime := flag.Int("task-ms", 0, "PowerOff, PowerOn and Reset tasks stay running this long; the power state changes when they complete")
	var vms, delays listFlag
	flag.Var(&vms, "vm", "NAME=BIOS_UUID[=INSTANCE_UUID] (repeatable), in order")
	flag.Var(&delays, "method-delay", "METHOD=MILLISECONDS (repeatable): delay every call of a SOAP method")
	flag.Parse()

	stop := make(chan struct{}, 2)
	go signalled(stop)
	if *hangMode {
		go hang(*listen)
		go serveCommands(func(line string) string { return "ERR hang mode: " + line }, stop)
		<-stop
		return
	}
	if *certFile == "" || *keyFile == "" || *username == "" || *passwordFile == "" {
		log.Fatal("vcsim: -cert, -key, -username and -password-file are required")
	}
	pass, err := ioutil.ReadFile(*passwordFile)
	if err != nil {
		log.Fatalf("vcsim: %v", err)
	}
	password := strings.TrimRight(string(pass), "\r\n")
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("vcsim: certificate: %v", err)
	}

	model := simulator.VPX()
	model.Host = 0 // no standalone host: every VM lives in the one cluster's resource pool
	model.ClusterHost = 1
	model.Machine = len(vms) + *extra
	if model.Machine == 0 {
		model.Machine = 1
	}
	for _, d := range delays {
		kv := strings.SplitN(d, "=", 2)
		ms, err := strconv.Atoi(kv[len(kv)-1])
		if len(kv) != 2 || err != nil {
			log.Fatalf("vcsim: bad -method-delay %q", d)
		}
		if model.DelayConfig.MethodDelay == nil {
			model.DelayConfig.MethodDelay = map[string]int{}
		}
		model.DelayConfig.MethodDelay[kv[0]] = ms
	}
	start := time.Now()
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: create model: %v", err)
	}

	all := simulator.Map.All("VirtualMachine")
	// Map.All walks a map: order by the creation order of the names (DC0_C0_RP0_VM<i>).
	byIndex := make(map[int]*simulator.VirtualMachine)
	for _, e := range all {
		vm := e.(*simulator.VirtualMachine)
		i := strings.LastIndex(vm.Name, "_VM")
		if i < 0 {
			log.Fatalf("vcsim: unexpected VM name %q", vm.Name)
		}
		n, err := strconv.Atoi(vm.Name[i+3:])
		if err != nil {
			log.Fatalf("vcsim: unexpected VM name %q", vm.Name)
		}
		byIndex[n] = vm
	}
	for i, spec := range vms {
		parts := strings.Split(spec, "=")
		if len(parts) < 2 || len(parts) > 3 {
			log.Fatalf("vcsim: bad -vm %q, expected NAME=BIOS_UUID[=INSTANCE_UUID]", spec)
		}
		vm := byIndex[i]
		vm.Name = parts[0]
		vm.Config.Name = parts[0]
		vm.Summary.Config.Name = parts[0]
		vm.Config.Uuid = parts[1]
		vm.Summary.Config.Uuid = parts[1]
		if len(parts) == 3 {
			vm.Config.InstanceUuid = parts[2]
			vm.Summary.Config.InstanceUuid = parts[2]
		}
	}
	k := &knobs{
		loginDelay: time.Duration(*loginDelay) * time.Millisecond,
		callDelay:  time.Duration(*callDelay) * time.Millisecond,
		taskTime:   time.Duration(*taskTime) * time.Millisecond,
	}
	wrapVMs(k) // after the names are set: the wrappers hold copies
	installPromptPC()
	if *onPowerOff != "" || *onPowerOn != "" {
		simulator.Map.AddHandler(&powerHook{
			self:   types.ManagedObjectReference{Type: "vcsimHook", Value: "power"},
			offCmd: *onPowerOff,
			onCmd:  *onPowerOn,
		})
	}

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, password)}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server := model.Service.NewServer()
	// In front of the simulator's handler. Set before the URL is printed: nobody has connected
	// yet, so no request can see the old handler.
	door := newFrontDoor(server.Config.Handler, k)
	server.Config.Handler = door

	u := *server.URL
	u.User = nil
	u.Host = server.Listener.Addr().String() // the address listened on, never a guessed NIC address
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "URL %s\nVMS %d\nCREATED_IN %s\nREADY\n", u.String(), len(all), time.Since(start).Round(time.Millisecond))
	out.Flush()
	go serveCommands(commands(door, k), stop)
	<-stop
	// The model keeps its datastore in a temporary folder: remove it before leaving. The server
	// is not closed: that would wait for the calls in flight (a WaitForUpdatesEx may be held
	// open for seconds); like a vCenter that stops, the process ends and its connections close.
	model.Remove()
}
