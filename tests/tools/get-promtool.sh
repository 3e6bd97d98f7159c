#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Put Debian's promtool in DIR (default build/tools) without installing the
# prometheus package: that package would start a Prometheus server. The
# .deb is fetched with `apt-get download` and only promtool is kept.
# Exits 0 without promtool when the archive cannot be reached: the tests
# that want it then fall back to python3-prometheus-client's parser.
set -eu
dir=${1:-build/tools}
[ -x "$dir/promtool" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dir"
if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
	(apt-get update -qq && cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) || {
		echo "get-promtool: cannot download Debian's prometheus package; promtool checks will be skipped" >&2
		exit 0
	}
fi
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
cp "$tmp/x/usr/bin/promtool" "$dir/promtool"
echo "get-promtool: $dir/promtool"
