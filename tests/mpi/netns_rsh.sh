#!/bin/bash
# Open MPI's launch agent (plm_rsh_agent) for the two-namespace test: called
# as `netns_rsh.sh HOST COMMAND...` where ssh would be, it runs the command in
# the network namespace named for HOST by CONCUR_NETNS_MAP ("ip=ns ip=ns"),
# with a private TMPDIR so the "hosts" do not share Open MPI's session files.
host=$1; shift
for pair in $CONCUR_NETNS_MAP; do
  if [[ ${pair%%=*} == "$host" ]]; then ns=${pair#*=}; fi
done
if [[ -z ${ns:-} ]]; then echo "netns_rsh.sh: unknown host $host" >&2; exit 1; fi
tmp=${CONCUR_NETNS_TMP:-/tmp}/$ns
mkdir -p "$tmp"
exec ip netns exec "$ns" env TMPDIR="$tmp" /bin/sh -c "$*"
