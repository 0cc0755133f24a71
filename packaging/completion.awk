# SPDX-License-Identifier: GPL-2.0-or-later
# Fills veeam-hactl.bash-completion.in from `veeam-hactl --help`: @VERBS@ gets the verb names,
# @CASES@ one case per verb with the literal words of its usage ("on|off", "[--json]"; words
# in capitals such as NODE are placeholders, and FILE completes file names).
# usage: veeam-hactl --help | awk -f completion.awk - veeam-hactl.bash-completion.in
FILENAME == "-" {
    if ($0 == "Verbs:") { in_verbs = 1; next }
    if (in_verbs && $0 == "") { in_verbs = 0; next }
    if (!in_verbs) next
    line = substr($0, 3)
    gap = index(line, "  ")
    left = gap ? substr(line, 1, gap - 1) : line
    n = split(left, word, " ")
    verbs = verbs (verbs == "" ? "" : " ") word[1]
    literal = ""
    files = 0
    for (i = 2; i <= n; i++) {
        gsub(/[][]/, "", word[i])
        m = split(word[i], alt, "|")
        for (k = 1; k <= m; k++) {
            if (alt[k] == "FILE") files = 1
            else if (alt[k] !~ /[A-Z]/) literal = literal (literal == "" ? "" : " ") alt[k]
        }
    }
    action = "COMPREPLY=($(compgen -W '" literal "' -- \"$cur\"))"
    if (files) action = action "; [[ $cur == -* ]] || _filedir '@(yaml|yml)'"
    cases = cases "        " word[1] ") " action " ;;\n"
    next
}
{
    if (verbs == "") { print "completion.awk: no verbs in the --help text" > "/dev/stderr"; exit 1 }
    if ($0 == "@CASES@") { printf "%s", cases; next }
    sub(/@VERBS@/, verbs)
    print
}
