#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A tiny OCF-style agent for the exec resource tests: the "service" runs while STATEFILE exists.
# usage: ocf-state.sh STATEFILE start|stop|monitor
# If STATEFILE.broken exists, monitor reports a failure (exit 1) with a message on stderr.
state=$1
case $2 in
  start) : > "$state"; echo "started" ;;
  stop) rm -f "$state" ;;
  monitor)
    if [ -e "$state.broken" ]; then
      echo "checking the service" >&2
      echo "service answers HTTP 500" >&2
      exit 1
    fi
    [ -e "$state" ] && exit 0
    exit 7 ;;
  *) echo "unknown action $2" >&2; exit 3 ;;
esac
