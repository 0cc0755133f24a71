#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Never finishes: leaves a helper in the background (its PID in $1), then waits forever.
# The exec resource must kill both at the deadline (they share the process group).
sleep 300 &
echo $! > "$1"
echo "hanging now" >&2
sleep 300
