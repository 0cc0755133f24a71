// SPDX-License-Identifier: GPL-2.0-or-later
//
// What makes govmomi's simulator behave like a real vCenter where the fencer's timing and
// session handling depend on it:
//
//   - frontDoor: a login that takes time (SSO), a delay on every call, a count of every SOAP
//     method and of successful logins, and sessions that end: a call with a cookie that no
//     live session holds is refused with NotAuthenticated, as vCenter does (the simulator
//     itself serves RetrievePropertiesEx without any session).
//   - timedVM: PowerOff, PowerOn and Reset tasks that stay `running` for a while and change
//     the VM's power state when they complete (the simulator completes them inside the call).
//   - promptPC: WaitForUpdatesEx answers as soon as a watched property changes (the
//     simulator looks for changes every 250 ms, which would hide a client's own latency).
package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// knobs are the delays, set by flags and changed at run time by stdin commands.
type knobs struct {
	mu         sync.Mutex
	loginDelay time.Duration
	callDelay  time.Duration
	taskTime   time.Duration
}

func (k *knobs) get() (login, call, task time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.loginDelay, k.callDelay, k.taskTime
}

func (k *knobs) set(name string, d time.Duration) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch name {
	case "login-delay-ms":
		k.loginDelay = d
	case "call-delay-ms":
		k.callDelay = d
	case "task-ms":
		k.taskTime = d
	default:
		return false
	}
	return true
}

// ---- frontDoor ---------------------------------------------------------------------------------

const sessionCookie = "vmware_soap_session"

// What vCenter serves without a session.
var sessionless = map[string]bool{"RetrieveServiceContent": true, "Login": true}

type frontDoor struct {
	next  http.Handler
	knobs *knobs

	mu          sync.Mutex
	calls       map[string]int      // SOAP method -> requests received
	logins      int                 // successful logins
	live        map[string]bool     // cookies Login handed out, not yet logged out or terminated
	connections map[string]struct{} // client address:port of every connection that sent a call
}

func newFrontDoor(next http.Handler, k *knobs) *frontDoor {
	return &frontDoor{next: next, knobs: k, calls: map[string]int{}, live: map[string]bool{},
		connections: map[string]struct{}{}}
}

// statusRecorder remembers the status code the simulator answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// soapMethod is the local name of the first element inside soapenv:Body.
func soapMethod(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

// The fault vCenter sends for a call whose session ended, expired, or never was.
const notAuthenticated = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The session is not authenticated.</faultstring><detail><NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>
`

func (d *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != vim25.Path {
		d.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	method := soapMethod(body)
	cookie := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		cookie = c.Value
	}
	d.mu.Lock()
	d.calls[method]++
	d.connections[r.RemoteAddr] = struct{}{}
	alive := d.live[cookie]
	d.mu.Unlock()

	login, call, _ := d.knobs.get()
	if method == "Login" {
		call += login
	}
	time.Sleep(call)

	if !sessionless[method] && !alive {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(notAuthenticated))
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	d.next.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return
	}
	switch method {
	case "Login":
		d.mu.Lock()
		d.logins++
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			if c.Name == sessionCookie {
				d.live[c.Value] = true
			}
		}
		d.mu.Unlock()
	case "Logout":
		d.mu.Lock()
		delete(d.live, cookie)
		d.mu.Unlock()
	}
}

// counts: "logins=N sessions=N connections=N METHOD=N ..." (methods sorted by name).
func (d *frontDoor) counts() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []string{fmt.Sprintf("logins=%d", d.logins), fmt.Sprintf("sessions=%d", len(d.live)),
		fmt.Sprintf("connections=%d", len(d.connections))}
	var names []string
	for m := range d.calls {
		names = append(names, m)
	}
	sort.Strings(names)
	for _, m := range names {
		out = append(out, fmt.Sprintf("%s=%d", m, d.calls[m]))
	}
	return strings.Join(out, " ")
}

func (d *frontDoor) sessionKeys() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []string
	for k := range d.live {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// terminateAll ends every session, as an administrator does in the vSphere Client (or a
// vCenter restart does): the simulator forgets them, and their cookies are refused.
func (d *frontDoor) terminateAll() int {
	keys := d.sessionKeys()
	sm := simulator.Map.SessionManager()
	ctx := &simulator.Context{
		Context: context.Background(),
		Map:     simulator.Map,
		Session: &simulator.Session{UserSession: types.UserSession{Key: "vcsim-control"}},
	}
	for _, k := range keys {
		sm.TerminateSession(ctx, &types.TerminateSession{SessionId: []string{k}})
	}
	d.mu.Lock()
	for _, k := range keys {
		delete(d.live, k)
	}
	d.mu.Unlock()
	return len(keys)
}

// ---- timedVM -----------------------------------------------------------------------------------

// timedVM replaces a simulator VM in the inventory. The simulator.VirtualMachine is embedded by
// value: the simulator finds the mo type by walking first fields, which a pointer would stop.
type timedVM struct {
	simulator.VirtualMachine
	knobs *knobs
}

func wrapVMs(k *knobs) {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		simulator.Map.Put(&timedVM{VirtualMachine: *vm, knobs: k})
	}
}

// innerTask is the task an inner simulator power call ran (to completion), or its fault.
func innerTask(res soap.HasFault) types.BaseMethodFault {
	if f := res.Fault(); f != nil {
		if mf, ok := f.Detail.Fault.(types.BaseMethodFault); ok {
			return mf
		}
		return new(types.SystemError)
	}
	var ref types.ManagedObjectReference
	switch b := res.(type) {
	case *methods.PowerOffVM_TaskBody:
		ref = b.Res.Returnval
	case *methods.PowerOnVM_TaskBody:
		ref = b.Res.Returnval
	case *methods.ResetVM_TaskBody:
		ref = b.Res.Returnval
	}
	if t, ok := simulator.Map.Get(ref).(*simulator.Task); ok && t.Info.Error != nil {
		return t.Info.Error.Fault
	}
	return nil
}

// later returns a task that stays running for d, then runs `inner` (the simulator's own power
// call, which changes the power state and runs the power hooks) and completes like it.
func (vm *timedVM) later(ctx *simulator.Context, name string, d time.Duration,
	inner func(*simulator.Context) soap.HasFault) types.ManagedObjectReference {
	c := *ctx // the request ends before the task does
	task := simulator.CreateTask(vm, name, nil)
	simulator.Map.Update(task, []types.PropertyChange{
		{Name: "info.startTime", Val: time.Now()},
		{Name: "info.state", Val: types.TaskInfoStateRunning},
	})
	go func() {
		time.Sleep(d)
		var fault types.BaseMethodFault
		// The lock a call on this VM would hold; c.Caller is the VM, so what inner locks
		// through the context is taken as held.
		simulator.Map.WithLock(vm, func() { fault = innerTask(inner(&c)) })
		state := types.TaskInfoStateSuccess
		var info interface{}
		if fault != nil {
			state = types.TaskInfoStateError
			info = types.LocalizedMethodFault{Fault: fault, LocalizedMessage: fmt.Sprintf("%T", fault)}
		}
		// Under the task's lock: RetrievePropertiesEx reads it under the same lock.
		simulator.Map.WithLock(task, func() {
			simulator.Map.Update(task, []types.PropertyChange{
				{Name: "info.completeTime", Val: time.Now()},
				{Name: "info.state", Val: state},
				{Name: "info.result", Val: nil},
				{Name: "info.error", Val: info},
			})
		})
	}()
	return task.Self
}

func (vm *timedVM) PowerOffVMTask(ctx *simulator.Context, req *types.PowerOffVM_Task) soap.HasFault {
	_, _, d := vm.knobs.get()
	if d <= 0 {
		return vm.VirtualMachine.PowerOffVMTask(ctx, req)
	}
	return &methods.PowerOffVM_TaskBody{Res: &types.PowerOffVM_TaskResponse{
		Returnval: vm.later(ctx, "powerOff", d, func(c *simulator.Context) soap.HasFault {
			return vm.VirtualMachine.PowerOffVMTask(c, req)
		})}}
}

func (vm *timedVM) PowerOnVMTask(ctx *simulator.Context, req *types.PowerOnVM_Task) soap.HasFault {
	_, _, d := vm.knobs.get()
	if d <= 0 {
		return vm.VirtualMachine.PowerOnVMTask(ctx, req)
	}
	return &methods.PowerOnVM_TaskBody{Res: &types.PowerOnVM_TaskResponse{
		Returnval: vm.later(ctx, "powerOn", d, func(c *simulator.Context) soap.HasFault {
			return vm.VirtualMachine.PowerOnVMTask(c, req)
		})}}
}

func (vm *timedVM) ResetVMTask(ctx *simulator.Context, req *types.ResetVM_Task) soap.HasFault {
	_, _, d := vm.knobs.get()
	if d <= 0 {
		return vm.VirtualMachine.ResetVMTask(ctx, req)
	}
	return &methods.ResetVM_TaskBody{Res: &types.ResetVM_TaskResponse{
		Returnval: vm.later(ctx, "reset", d, func(c *simulator.Context) soap.HasFault {
			return vm.VirtualMachine.ResetVMTask(c, req)
		})}}
}

// ---- promptPC ----------------------------------------------------------------------------------

// changes wakes every waiting WaitForUpdatesEx when any object in the inventory changes.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

var inventoryChanges = &changes{ch: make(chan struct{})}

func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch
}

func (c *changes) fire() {
	c.mu.Lock()
	close(c.ch)
	c.ch = make(chan struct{})
	c.mu.Unlock()
}

func (c *changes) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "vcsimHook", Value: "changes"}
}
func (c *changes) PutObject(mo.Reference)                            { c.fire() }
func (c *changes) UpdateObject(mo.Reference, []types.PropertyChange) { c.fire() }
func (c *changes) RemoveObject(types.ManagedObjectReference)         { c.fire() }

// promptPC replaces the PropertyCollector singleton; the simulator makes one per session from
// its type (reflect.New), so it must work from its zero value. Filters are the simulator's
// (CreateFilter, DestroyPropertyFilter); only WaitForUpdatesEx is ours.
type promptPC struct {
	simulator.PropertyCollector

	mu      sync.Mutex
	version int
	// filter -> object -> property -> value last reported
	seen map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}
}

func installPromptPC() {
	si := simulator.Map.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	pc := &promptPC{}
	pc.Self = si.Content.PropertyCollector
	simulator.Map.Put(pc)
	simulator.Map.AddHandler(inventoryChanges)
}

// collect reports what changed in every filter since the last report.
func (pc *promptPC) collect(ctx *simulator.Context, initial bool) (*types.UpdateSet, *soap.Fault) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if initial || pc.seen == nil {
		pc.seen = map[types.ManagedObjectReference]map[types.ManagedObjectReference]map[string]interface{}{}
	}
	set := &types.UpdateSet{}
	current := map[types.ManagedObjectReference]bool{}
	for _, ref := range pc.Filter {
		f, ok := ctx.Session.Get(ref).(*simulator.PropertyFilter)
		if !ok {
			continue
		}
		current[ref] = true
		res := pc.PropertyCollector.RetrievePropertiesEx(ctx, &types.RetrievePropertiesEx{
			This: pc.Self, SpecSet: []types.PropertyFilterSpec{f.Spec}})
		if res.Fault() != nil {
			return nil, res.Fault()
		}
		now := map[types.ManagedObjectReference]map[string]interface{}{}
		fu := types.PropertyFilterUpdate{Filter: ref}
		if rr := res.(*methods.RetrievePropertiesExBody).Res.Returnval; rr != nil {
			for _, o := range rr.Objects {
				props := map[string]interface{}{}
				for _, p := range o.PropSet {
					props[p.Name] = p.Val
				}
				now[o.Obj] = props
				before, known := pc.seen[ref][o.Obj]
				u := types.ObjectUpdate{Obj: o.Obj, Kind: types.ObjectUpdateKindModify}
				if !known {
					u.Kind = types.ObjectUpdateKindEnter
				}
				for _, p := range o.PropSet {
					if old, had := before[p.Name]; !known || !had || !reflect.DeepEqual(old, p.Val) {
						u.ChangeSet = append(u.ChangeSet, types.PropertyChange{
							Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
					}
				}
				for name := range before {
					if _, has := props[name]; !has { // unset since: assigned nothing
						u.ChangeSet = append(u.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpAssign})
					}
				}
				if !known || len(u.ChangeSet) > 0 {
					fu.ObjectSet = append(fu.ObjectSet, u)
				}
			}
		}
		for obj := range pc.seen[ref] {
			if _, still := now[obj]; !still {
				fu.ObjectSet = append(fu.ObjectSet, types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindLeave})
			}
		}
		pc.seen[ref] = now
		if len(fu.ObjectSet) > 0 {
			set.FilterSet = append(set.FilterSet, fu)
		}
	}
	for ref := range pc.seen {
		if !current[ref] {
			delete(pc.seen, ref) // destroyed filter
		}
	}
	if initial || len(set.FilterSet) > 0 {
		pc.version++
	}
	set.Version = strconv.Itoa(pc.version)
	return set, nil
}

// WaitForUpdatesEx: version "" answers the current state at once; a version answers the
// changes since, as soon as there are any, or nothing after options.maxWaitSeconds (0: look
// once). A version this collector did not hand out is refused, as vCenter does.
func (pc *promptPC) WaitForUpdatesEx(ctx *simulator.Context, r *types.WaitForUpdatesEx) soap.HasFault {
	body := &methods.WaitForUpdatesExBody{}
	if ctx.Session == nil {
		body.Fault_ = simulator.Fault("", &types.NotAuthenticated{})
		return body
	}
	once := false
	var timeout <-chan time.Time
	if r.Options != nil && r.Options.MaxWaitSeconds != nil {
		if *r.Options.MaxWaitSeconds <= 0 {
			once = true
		} else {
			t := time.NewTimer(time.Duration(*r.Options.MaxWaitSeconds) * time.Second)
			defer t.Stop()
			timeout = t.C
		}
	}
	pc.mu.Lock()
	known := strconv.Itoa(pc.version)
	pc.mu.Unlock()
	initial := r.Version == ""
	if !initial && r.Version != known {
		body.Fault_ = simulator.Fault("", &types.InvalidCollectorVersion{})
		return body
	}
	for {
		changed := inventoryChanges.next() // before collecting: a change after it wakes us
		set, fault := pc.collect(ctx, initial)
		if fault != nil {
			body.Fault_ = fault
			return body
		}
		if initial || len(set.FilterSet) > 0 {
			body.Res = &types.WaitForUpdatesExResponse{Returnval: set}
			return body
		}
		if once {
			body.Res = &types.WaitForUpdatesExResponse{}
			return body
		}
		select {
		case <-changed:
		case <-timeout:
			body.Res = &types.WaitForUpdatesExResponse{} // no returnval: nothing changed
			return body
		}
	}
}
