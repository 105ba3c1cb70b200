#!/bin/sh
# Installs the external programs the tests, the benchmark and the local cluster use, when they are missing.
# Debian packages only; nothing is downloaded from elsewhere.
set -e
need=""
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-sentinel >/dev/null 2>&1 || need="$need redis-sentinel"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
command -v nutcracker >/dev/null 2>&1 || need="$need nutcracker"
command -v etcd >/dev/null 2>&1 || need="$need etcd-server etcd-client"
[ -f /usr/share/java/zookeeper.jar ] || need="$need zookeeper"
command -v chromium >/dev/null 2>&1 || need="$need chromium"     # the console's browser tests
command -v promtool >/dev/null 2>&1 || need="$need prometheus"   # deploy/monitoring rules checks
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"   # deploy/systemd unit checks
# The chaos tool's hosts (network namespaces) and partitions (nft rules inside them).
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v nft >/dev/null 2>&1 || need="$need nftables"
if [ -n "$need" ]; then
  echo "ensure-deps: installing$need" >&2
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null
fi
# Debian starts these as services on install; the project runs its own on free ports.
for svc in redis-server etcd zookeeper prometheus; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done
exit 0
