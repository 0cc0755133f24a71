// SPDX-License-Identifier: GPL-2.0-or-later
// The configuration of one simulated BMC for OpenIPMI's `ipmi_sim` (lan.conf and the emulator's
// commands), shared by the fencing tests' BMC on loopback (tests/fencing/ipmi_sim_fixture.h) and
// the hosts tier's BMC per VM (tests/hosts/bmc.h): one LAN channel with every authentication,
// one admin user, and what powers the "host" (`power_lines`: a chassis_control program, or a
// startcmd the simulator runs and kills).
#pragma once

#include <string>

namespace veeamha::test {

struct IpmiSimConf {
    std::string name;         // the BMC's name in its own logs
    std::string address;      // where it listens (IPv4)
    int port = 623;
    std::string guid;         // 32 hex digits: the IPMI 2.0 session needs one per BMC
    std::string user, password;
    std::string power_lines;  // lan.conf lines, each "  key value\n"
};

inline std::string ipmi_sim_lan_conf(const IpmiSimConf& c) {
    return "name \"" + c.name + "\"\n"
           "set_working_mc 0x20\n"
           "  startlan 1\n"
           "    addr " + c.address + " " + std::to_string(c.port) + "\n"
           "    priv_limit admin\n"
           "    allowed_auths_callback none md2 md5 straight\n"
           "    allowed_auths_user none md2 md5 straight\n"
           "    allowed_auths_operator none md2 md5 straight\n"
           "    allowed_auths_admin none md2 md5 straight\n"
           "    guid " + c.guid + "\n"
           "  endlan\n" +
           c.power_lines +
           "  user 2 true \"" + c.user + "\" \"" + c.password + "\" admin 10 none md2 md5 straight\n";
}

// The emulator's commands: one management controller (the BMC itself) with a SEL.
inline const char* ipmi_sim_emu() {
    return "mc_setbmc 0x20\n"
           "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
           "sel_enable 0x20 1000 0x0a\n"
           "mc_enable 0x20\n";
}

}  // namespace veeamha::test
