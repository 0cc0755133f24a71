# SPDX-License-Identifier: GPL-2.0-or-later
# README.md's "Configuration reference" section as the markdown source of veeam-ha.yaml(5), for
# lowdown -s -Tman: the README is the one place the keys are described (tests/config/docs_test
# checks it has every key of the loader's schema), the man page is made from it at build time.
# Headings move up (### -> section, #### -> subsection); tables become definition lists, which
# read well at 80 columns where a four-column table does not: a key's row becomes
#   `key` (type; default: value)
#   :   meaning
# and a two-column row (files, messages) the first cell as the term, the second as its text.
# usage: awk -v version=0.1.0 -f config_reference.awk README.md
BEGIN {
    print "title: veeam-ha.yaml"
    print "section: 5"
    print "source: veeam-had " version
    print ""
    print "# NAME"
    print ""
    print "veeam-ha.yaml - configuration of veeam-had, the two-node HA daemon for a Veeam repository"
    print ""
    print "# DESCRIPTION"
    print ""
}
/^## Configuration reference/ { inside = 1; next }
inside && /^## / { inside = 0 }
!inside { table = 0; next }
/^#### / { sub(/^#### /, "## "); print; next }
/^### / { sub(/^### /, "# "); print; next }
/^\|/ {
    if (!table) { table = 1; next }     # the header row
    if ($0 ~ /^[|:\- ]+$/) next          # the separator row
    n = split($0, raw, "|")
    cells = 0
    for (i = 2; i < n; i++) {
        cell = raw[i]
        gsub(/^ +| +$/, "", cell)
        cell_text[++cells] = cell
    }
    if (cells == 4) {
        default_text = cell_text[3] == "" ? "" : "; default: " cell_text[3]
        print cell_text[1] " (" cell_text[2] default_text ")"
        print ":   " cell_text[4]
    } else if (cells == 2) {
        print cell_text[1]
        print ":   " cell_text[2]
    } else {
        printf "config_reference.awk: a table row with %d cells, expected 2 or 4: %s\n", cells, $0 > "/dev/stderr"
        failed = 1
        exit 1
    }
    print ""
    next
}
{ table = 0; print }
END {
    if (failed) exit 1
    print "# SEE ALSO"
    print ""
    print "veeam-had(8), veeam-hactl(8), /etc/veeam-ha.yaml.example, /usr/share/doc/veeam-had/README.md"
}
