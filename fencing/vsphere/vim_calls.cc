// SPDX-License-Identifier: GPL-2.0-or-later
// Operations half of VimSession: find a VM, read and change its power state, list the
// inventory (waiting for tasks is in vim_task_wait.cc). Results are copied out of the gSOAP
// context before it is released.
#include <cstring>
#include <map>

#include "fencing/vsphere/vim_session_impl.h"

namespace veeamha::fencing::vsphere {

namespace {

constexpr const char* kXsiNamespace = "http://www.w3.org/2001/XMLSchema-instance";
constexpr int kListPageSize = 500;      // objects per RetrievePropertiesEx page
constexpr int kMaxPages = 1000;         // 500,000 VMs: far beyond any vCenter's limit

const char* local_part(const char* name) {
    if (!name) return "";
    const char* colon = std::strrchr(name, ':');
    return colon ? colon + 1 : name;
}

void copy_objects(const vim25__RetrieveResult* result, std::vector<ObjectProps>& out) {
    if (!result) return;
    for (const auto& oc : result->objects) {
        ObjectProps o;
        if (oc.obj) o.obj = from_soap(*oc.obj);
        for (const auto& p : oc.propSet)
            if (p.name) o.props[*p.name] = copy_value(&p.val);
        for (const auto& m : oc.missingSet)
            if (m.path) o.missing[*m.path] = xsi_type(child(&m.fault, "fault"));
        out.push_back(std::move(o));
    }
}

vim25__PropertySpec property_spec(const std::string& type, std::vector<std::string> paths) {
    vim25__PropertySpec ps;
    ps.type = type;
    ps.pathSet = std::move(paths);
    return ps;
}

}  // namespace

// ---- DOM helpers -----------------------------------------------------------------------------

PropValue copy_value(const soap_dom_element* val) {
    PropValue v;
    v.text = text_of(val);
    if (const soap_dom_element* fault = child(val, "fault")) {
        v.fault_type = xsi_type(fault);
        v.message = text_of(child(val, "localizedMessage"));
    }
    return v;
}

const char* xsi_type(const soap_dom_element* elt) {
    if (!elt) return "";
    for (const soap_dom_attribute* a = elt->atts; a; a = a->next) {
        if (a->nstr && std::strcmp(a->nstr, kXsiNamespace) == 0 &&
            std::strcmp(local_part(a->name), "type") == 0)
            return local_part(a->text);
    }
    return "";
}

const soap_dom_element* child(const soap_dom_element* elt, const char* name) {
    if (!elt) return nullptr;
    for (const soap_dom_element* c = elt->elts; c; c = c->next)
        if (c->name && std::strcmp(local_part(c->name), name) == 0) return c;
    return nullptr;
}

std::string text_of(const soap_dom_element* elt) {
    return elt && elt->text ? std::string(elt->text) : std::string();
}

vim25__ManagedObjectReference to_soap(const Moref& m) {
    vim25__ManagedObjectReference r;
    r.type = m.type;
    r.__item = m.value;
    return r;
}

Moref from_soap(const vim25__ManagedObjectReference& m) { return Moref{m.type, m.__item}; }

namespace {

// RetrievePropertiesEx, then ContinueRetrievePropertiesEx while vCenter hands out a token.
std::optional<VimError> retrieve(VimSession::Impl& im, Step step,
                                 const vim25__PropertyFilterSpec& spec,
                                 std::vector<ObjectProps>& out, std::chrono::milliseconds budget = {}) {
    _vim25__RetrievePropertiesEx req;
    req._USCOREthis = to_soap(im.property_collector);
    req.specSet.push_back(spec);
    int page_size = kListPageSize;
    req.options.maxObjects = &page_size;
    _vim25__RetrievePropertiesExResponse resp;
    if (auto e = invoke(im, step, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__RetrievePropertiesEx(s, ep, nullptr, &req, resp);
        }, budget)) {
        im.release();
        return e;
    }
    copy_objects(resp.returnval, out);
    std::string token = resp.returnval && resp.returnval->token ? *resp.returnval->token : "";
    im.release();
    for (int page = 1; !token.empty(); ++page) {
        if (page >= kMaxPages)
            return im.error(ErrorKind::Protocol, step,
                            im.where() + " kept paging past " + std::to_string(kMaxPages) + " pages");
        _vim25__ContinueRetrievePropertiesEx more;
        more._USCOREthis = to_soap(im.property_collector);
        more.token = token;
        _vim25__ContinueRetrievePropertiesExResponse next;
        if (auto e = invoke(im, step, [&](struct soap* s, const char* ep) {
                return soap_call___vim25__ContinueRetrievePropertiesEx(s, ep, nullptr, &more, next);
            })) {
            im.release();
            return e;
        }
        copy_objects(next.returnval, out);
        token = next.returnval && next.returnval->token ? *next.returnval->token : "";
        im.release();
    }
    return std::nullopt;
}

PowerState parse_power_state(const std::string& s) {
    if (s == "poweredOn") return PowerState::On;
    if (s == "poweredOff") return PowerState::Off;
    if (s == "suspended") return PowerState::Suspended;
    return PowerState::Unknown;
}

}  // namespace

Result<ObjectProps> retrieve_one(VimSession::Impl& im, Step step, const Moref& obj,
                                 std::vector<std::string> paths, std::chrono::milliseconds budget) {
    vim25__PropertyFilterSpec spec;
    spec.propSet.push_back(property_spec(obj.type, std::move(paths)));
    vim25__ObjectSpec os;
    os.obj = to_soap(obj);
    spec.objectSet.push_back(os);
    std::vector<ObjectProps> objects;
    if (auto e = retrieve(im, step, spec, objects, budget)) return *e;
    if (objects.empty())
        return im.error(ErrorKind::NotFound, step,
                        im.where() + ": " + obj.type + " " + obj.value + " no longer exists");
    ObjectProps& o = objects.front();
    for (const auto& [path, fault] : o.missing) {
        if (fault == "NotAuthenticated") {
            im.logged_in = false;  // gone: never kept, never logged out
            return im.error(ErrorKind::NotAuthenticated, step,
                            im.where() + " no longer knows the session of " + im.settings.username +
                                " reading " + path + " of " + obj.value + " (NotAuthenticated)",
                            fault);
        }
        if (fault == "NoPermission")
            return im.error(ErrorKind::NoPermission, step,
                            im.where() + " denied " + im.settings.username + " reading " + path +
                                " of " + obj.value + " (" + fault + "); the role needs System.Read",
                            fault);
    }
    return std::move(o);
}

// ---- operations ---------------------------------------------------------------------------

Result<Moref> VimSession::find_vm(const std::string& uuid, config::UuidKind kind) {
    Impl& im = *impl_;
    _vim25__FindByUuid req;
    req._USCOREthis = to_soap(im.search_index);
    req.uuid = uuid;
    req.vmSearch = true;
    bool instance = kind == config::UuidKind::Instance;
    req.instanceUuid = &instance;
    _vim25__FindByUuidResponse resp;
    if (auto e = invoke(im, Step::FindVm, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__FindByUuid(s, ep, nullptr, &req, resp);
        })) {
        im.release();
        return *e;
    }
    if (!resp.returnval) {
        im.release();
        return im.error(ErrorKind::NotFound, Step::FindVm,
                        std::string("no VM with ") + (instance ? "instance" : "BIOS") + " UUID " + uuid +
                            " on " + im.settings.host + "; `veeam-hactl fence list` shows them");
    }
    Moref vm = from_soap(*resp.returnval);
    im.release();
    return vm;
}

Result<PowerState> VimSession::power_state(const Moref& vm) {
    Impl& im = *impl_;
    auto r = retrieve_one(im, Step::ReadPowerState, vm, {"runtime.powerState"});
    if (!r.ok()) return r.error();
    auto it = r.value().props.find("runtime.powerState");
    if (it == r.value().props.end())
        return im.error(ErrorKind::Protocol, Step::ReadPowerState,
                        im.where() + " returned no runtime.powerState for " + vm.value);
    PowerState state = parse_power_state(it->second.text);
    if (state == PowerState::Unknown)
        return im.error(ErrorKind::Protocol, Step::ReadPowerState,
                        im.where() + " returned an unknown power state '" + it->second.text +
                            "' for " + vm.value);
    return state;
}

Result<VmCheck> VimSession::check_vm(const Moref& vm, config::UuidKind kind, std::chrono::milliseconds budget) {
    Impl& im = *impl_;
    const char* uuid_path = kind == config::UuidKind::Instance ? "config.instanceUuid" : "config.uuid";
    auto r = retrieve_one(im, Step::CheckVm, vm, {"runtime.powerState", uuid_path},
                          std::min(budget, im.settings.call_timeout));
    if (!r.ok()) return r.error();
    const auto& props = r.value().props;
    auto state = props.find("runtime.powerState");
    auto uuid = props.find(uuid_path);
    VmCheck out;
    if (state != props.end()) out.state = parse_power_state(state->second.text);
    if (uuid != props.end()) out.uuid = uuid->second.text;
    if (out.state == PowerState::Unknown)
        return im.error(ErrorKind::Protocol, Step::CheckVm,
                        im.where() + " returned no known runtime.powerState for " + vm.value);
    return out;
}

Result<Moref> VimSession::start_power_op(const Moref& vm, PowerOp op) {
    Impl& im = *impl_;
    std::optional<vim25__ManagedObjectReference> task;
    std::optional<VimError> e;
    switch (op) {
        case PowerOp::Off: {
            _vim25__PowerOffVM_USCORETask req;
            req._USCOREthis = to_soap(vm);
            _vim25__PowerOffVM_USCORETaskResponse resp;
            e = invoke(im, Step::PowerOff, [&](struct soap* s, const char* ep) {
                return soap_call___vim25__PowerOffVM_USCORETask(s, ep, nullptr, &req, resp);
            });
            if (!e && resp.returnval) task = *resp.returnval;
            break;
        }
        case PowerOp::On: {
            _vim25__PowerOnVM_USCORETask req;
            req._USCOREthis = to_soap(vm);
            _vim25__PowerOnVM_USCORETaskResponse resp;
            e = invoke(im, Step::PowerOn, [&](struct soap* s, const char* ep) {
                return soap_call___vim25__PowerOnVM_USCORETask(s, ep, nullptr, &req, resp);
            });
            if (!e && resp.returnval) task = *resp.returnval;
            break;
        }
        case PowerOp::Reset: {
            _vim25__ResetVM_USCORETask req;
            req._USCOREthis = to_soap(vm);
            _vim25__ResetVM_USCORETaskResponse resp;
            e = invoke(im, Step::Reset, [&](struct soap* s, const char* ep) {
                return soap_call___vim25__ResetVM_USCORETask(s, ep, nullptr, &req, resp);
            });
            if (!e && resp.returnval) task = *resp.returnval;
            break;
        }
    }
    im.release();
    if (e) return *e;
    Step step = op == PowerOp::Off ? Step::PowerOff : op == PowerOp::On ? Step::PowerOn : Step::Reset;
    if (!task)
        return im.error(ErrorKind::Protocol, step, im.where() + " returned no task for " + vm.value);
    return from_soap(*task);
}

Result<std::vector<VmInfo>> VimSession::list_vms() {
    Impl& im = *impl_;
    _vim25__CreateContainerView cv;
    cv._USCOREthis = to_soap(im.view_manager);
    cv.container = to_soap(im.root_folder);
    cv.type.push_back("VirtualMachine");
    cv.recursive = true;
    _vim25__CreateContainerViewResponse cv_resp;
    if (auto e = invoke(im, Step::ListVms, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__CreateContainerView(s, ep, nullptr, &cv, cv_resp);
        })) {
        im.release();
        return *e;
    }
    if (!cv_resp.returnval) {
        im.release();
        return im.error(ErrorKind::Protocol, Step::ListVms, im.where() + " returned no container view");
    }
    Moref view = from_soap(*cv_resp.returnval);
    im.release();

    vim25__PropertyFilterSpec spec;
    spec.propSet.push_back(property_spec(
        "VirtualMachine", {"name", "config.uuid", "config.instanceUuid", "runtime.powerState"}));
    vim25__ObjectSpec os;
    os.obj = to_soap(view);
    bool skip_view = true, skip_traversal = false;
    os.skip = &skip_view;
    vim25__TraversalSpec traverse;
    std::string traverse_name = "traverseView";
    traverse.name = &traverse_name;
    traverse.type = "ContainerView";
    traverse.path = "view";
    traverse.skip = &skip_traversal;
    os.selectSet.push_back(&traverse);
    spec.objectSet.push_back(os);
    std::vector<ObjectProps> objects;
    auto e = retrieve(im, Step::ListVms, spec, objects);

    // The view lives in the session; destroy it even after a failed read, if time allows.
    if (!im.broken) {
        _vim25__DestroyView dv;
        dv._USCOREthis = to_soap(view);
        _vim25__DestroyViewResponse dv_resp;
        (void)invoke(im, Step::ListVms, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__DestroyView(s, ep, nullptr, &dv, dv_resp);
        });
        im.release();
    }
    if (e) return *e;

    // A session vCenter forgot, or a role without System.Read, shows as every VM's name missing.
    if (!objects.empty()) {
        std::string fault;
        bool all_denied = true;
        for (const auto& o : objects) {
            auto it = o.missing.find("name");
            if (it == o.missing.end() || (it->second != "NoPermission" && it->second != "NotAuthenticated")) {
                all_denied = false;
                break;
            }
            fault = it->second;
        }
        if (all_denied)
            return im.error(fault == "NotAuthenticated" ? ErrorKind::NotAuthenticated : ErrorKind::NoPermission,
                            Step::ListVms,
                            im.where() + " denied " + im.settings.username +
                                " reading the VMs (" + fault + "); the role needs System.View and System.Read",
                            fault);
    }

    std::vector<VmInfo> vms;
    vms.reserve(objects.size());
    for (auto& o : objects) {
        VmInfo vm;
        auto text = [&](const char* path) {
            auto it = o.props.find(path);
            return it == o.props.end() ? std::string() : it->second.text;
        };
        vm.name = text("name");
        vm.bios_uuid = text("config.uuid");
        vm.instance_uuid = text("config.instanceUuid");
        vm.state = parse_power_state(text("runtime.powerState"));
        if (vm.name.empty()) vm.name = o.obj.value;  // no permission to read it: show the id
        vms.push_back(std::move(vm));
    }
    return vms;
}

}  // namespace veeamha::fencing::vsphere
