#!/bin/sh
# One host's StarlingX software, running: a real long-running process, started by `bin/stx start`
# (README.md).
#
#   service.sh EXAMPLE_DIR HOST COMPONENT
#
# It runs the release hosts/HOST/COMPONENT/current points at. While an upgrade is in progress and
# not yet activated (etc/upgrade), it starts in compatibility mode: its messages to other hosts in
# the format of the release the upgrade started from. A controller refuses to start (exit 2)
# without its services' databases for its release (hosts/HOST/controller/db/RELEASE), which
# `bin/stx migrate-databases` makes. SIGTERM ends it. Each step of its life is a line in the
# host's events.log.
here=$1 h=$2 c=$3
d=$here/hosts/$h/$c
v=$(cat "$d/current/VERSION")

record() { echo "$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ) $c $v $*" >>"$here/hosts/$h/events.log"; }

if [ "$c" = controller ] && [ ! -f "$d/db/$v/schema" ]; then
  record start-refused "no databases for $v: migrate them first"
  exit 2
fi
mode="messages in $v format"
if [ -f "$here/etc/upgrade" ]; then
  read -r from to state <"$here/etc/upgrade"
  [ "$state" = activated ] || [ "$from" = "$v" ] || mode="compatibility mode: messages in $from format"
fi

trap 'rm -f "$d/ready"; record stopped "SIGTERM"; exit 0' TERM INT
echo $$ >"$d/ready.tmp"
mv "$d/ready.tmp" "$d/ready"
record started "pid=$$, $mode"
while :; do sleep 0.1; done
