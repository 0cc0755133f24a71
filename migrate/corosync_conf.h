// SPDX-License-Identifier: GPL-2.0-or-later
// The parts of /etc/corosync/corosync.conf (corosync 2 on CentOS 7, corosync 3 on Debian 12)
// that give veeam-had its nodes and links: totem.cluster_name and nodelist.node.ringN_addr.
// Corosync ships no library that reads this file (libcmap reads a running corosync), and its
// format is small: `name {` opens a section, `}` closes it, `key: value` sets, `#` comments.
#pragma once

#include <string>
#include <vector>

namespace veeamha::migrate {

struct CorosyncNode {
    std::string name;    // nodelist.node.name, "" when absent (then ring0_addr names the node)
    std::string nodeid;  // the CIB's <node id> on Pacemaker 2 and 1.1 with corosync 2
    std::vector<std::string> rings;  // index = link number (ring0_addr, ring1_addr, ...); "" = absent
    int line = 0;
};

struct CorosyncConf {
    std::string file;
    std::string cluster_name;
    std::string token;      // totem.token, ms
    std::string transport;  // udpu, knet, udp
    std::vector<CorosyncNode> nodes;
    std::vector<std::string> notes;  // what is read but not carried over (quorum, totem timings)
};

// Throws InputError "FILE:LINE: what was expected, what was found".
CorosyncConf read_corosync_conf(const std::string& text, const std::string& file_name);

}  // namespace veeamha::migrate
