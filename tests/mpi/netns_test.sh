#!/bin/bash
# MPI over TCP between two network namespaces: two "hosts" made here with
# `ip netns` and a veth pair, rank 0 (the client) in one, ranks 1 and 2 in
# the other; runs the MPICommExecutor suite there. Exit 77 (CTest: skipped),
# with the reason, where the sandbox cannot make namespaces.
#   netns_test.sh MPIRUN TEST_BINARY [MPIRUN_FLAGS...]
set -uo pipefail
mpirun=$1; binary=$2; shift 2
flags=("$@")
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }

[[ $(id -u) == 0 ]] || skip "needs root to create network namespaces (ip netns add)"
command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"
tag=$$
a=concur_a_$tag; b=concur_b_$tag
va=cva$tag; vb=cvb$tag
net=10.$((200 + tag % 50)).$((tag % 250))
ipa=$net.1; ipb=$net.2
tmp=$(mktemp -d /tmp/concur_netns.XXXXXX)
cleanup() {
  ip netns pids "$a" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns pids "$b" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
out=$(ip netns add "$a" 2>&1) || skip "ip netns add failed here: $out"
ip netns add "$b" || skip "ip netns add failed for the second namespace"
ip link add "$va" type veth peer name "$vb" 2>/dev/null || skip "cannot create a veth pair (ip link add type veth)"
ip link set "$va" netns "$a" && ip link set "$vb" netns "$b" || skip "cannot move a veth end into a namespace"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" addr add "$ipa/24" dev "$va" && ip -n "$a" link set "$va" up
ip -n "$b" addr add "$ipb/24" dev "$vb" && ip -n "$b" link set "$vb" up

printf '%s slots=1\n%s slots=2\n' "$ipa" "$ipb" > "$tmp/hosts"
export CONCUR_NETNS_MAP="$ipa=$a $ipb=$b" CONCUR_NETNS_TMP="$tmp"
echo "hosts: $ipa (namespace $a: rank 0) and $ipb (namespace $b: ranks 1, 2), MPI over TCP on the veth pair"
run() {
  ip netns exec "$a" env TMPDIR="$tmp/$a" "$mpirun" "${flags[@]}" -n 3 --hostfile "$tmp/hosts" \
    --mca plm_rsh_agent "$here/netns_rsh.sh" \
    --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" "$@"
}
# The ranks really are in two namespaces: one sees $ipa, two see $ipb.
where=$(run sh -c 'ip -o -4 addr show scope global' 2>&1)
if [[ $(grep -c " $ipa/" <<<"$where") != 1 || $(grep -c " $ipb/" <<<"$where") != 2 ]]; then
  echo "FAILED: the ranks are not placed one in $a and two in $b:"; echo "$where"; exit 1
fi
run "$binary" --gtest_filter='MPICommExecutor.*'
