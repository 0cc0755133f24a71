#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fails with several lines on stderr; the last one must end up in the reason. $1 = exit code,
# or "segv" to die of a signal.
echo "first line" >&2
echo "second line" >&2
echo "mount: /srv: wrong fs type" >&2
if [ "$1" = segv ]; then kill -SEGV $$; fi
exit "${1:-1}"
