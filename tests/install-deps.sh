#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install whichever of the named Debian packages are missing. Runs apt-get
# update once, only when something has to be installed, so a machine that
# has everything pays one dpkg-query and nothing else.
missing=""
for p in "$@"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || exit 1
# nsd's package starts a system service on port 53; tests run their own.
$SUDO apt-get install -y -qq --no-install-recommends $missing || exit 1
