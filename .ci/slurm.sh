#!/usr/bin/env bash
# A single-node Slurm on 127.0.0.1 for the `slurm` tests (and for trying --executor slurm locally).
#
#   .ci/slurm.sh start    install (root only, when missing), configure and start; idempotent
#   .ci/slurm.sh status   the daemons and `sinfo`; exit 0 when the controller answers
#   .ci/slurm.sh stop     stop the daemons this script started (by their PID files), nothing else
#
# Debian's slurmctld, slurmd, slurm-client and munge packages (not the slurm-wlm metapackage).
# No systemd: the daemons are started directly. State, logs and PID files live in $HZX_SLURM_DIR
# (default /tmp/hzx-slurm). The configuration is /etc/slurm/slurm.conf, written only when it is
# missing or was written by this script (a site's own configuration is never replaced). The node
# advertises $HZX_SLURM_CPUS CPUs (default 8, SlurmdParameters=config_overrides) so that several
# one-core worker jobs run at once on a 2-core machine.
set -euo pipefail

STATE=${HZX_SLURM_DIR:-/tmp/hzx-slurm}
CPUS=${HZX_SLURM_CPUS:-8}
CONF=/etc/slurm/slurm.conf
MARK="# written by hzx .ci/slurm.sh"
HOSTS_MARK="# hzx .ci/slurm.sh"
HOST=$(hostname -s 2>/dev/null || hostname)

say() { echo "slurm.sh: $*"; }
is_root() { [ "$(id -u)" = 0 ]; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -s "$1" ] && cat "$1" || true; }
pidfile() { if [ "$1" = munged ]; then echo /run/munge/munged.pid; else echo "$STATE/$1.pid"; fi; }
answers() { timeout 10 sinfo -h -o %T >/dev/null 2>&1; }
started() { [ -f "$STATE/started" ] && grep -qx "$1" "$STATE/started"; }
mark_started() { started "$1" || echo "$1" >>"$STATE/started"; }

install_slurm() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
      && command -v sinfo >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  if ! is_root; then
    say "Slurm is not installed and this is not root: cannot install slurmctld slurmd slurm-client munge"
    return 1
  fi
  say "installing slurmctld slurmd slurm-client munge …"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >"$STATE/apt.log" 2>&1 \
    || { say "apt-get install failed (see $STATE/apt.log)"; return 1; }
}

resolve_host() {
  # the controller and the node are addressed by the host name: it must be 127.0.0.1
  if getent hosts "$HOST" | awk '{print $1}' | grep -q '^127\.'; then
    return 0
  fi
  is_root || { say "$HOST does not resolve to 127.0.0.1 (add it to /etc/hosts)"; return 1; }
  echo "127.0.0.1 $HOST $HOSTS_MARK" >>/etc/hosts
  mark_started hosts
}

start_munge() {
  if timeout 5 munge -n </dev/null 2>/dev/null | timeout 5 unmunge >/dev/null 2>&1; then
    return 0  # a munged is already running (ours or the system's)
  fi
  is_root || { say "munged is not running and this is not root"; return 1; }
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid \
    --log-file=/var/log/munge/munged.log 2>>"$STATE/munged.err" \
    || { say "munged did not start (see $STATE/munged.err)"; return 1; }
  mark_started munged
  for _ in $(seq 50); do
    [ -s /run/munge/munged.pid ] && break
    sleep 0.1
  done
}

write_conf() {
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    say "$CONF exists and was not written by this script: using it as it is"
    return 0
  fi
  local memory
  memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
  local cpus
  cpus=$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' | head -1)
  [ "${cpus:-0}" -gt "$CPUS" ] && CPUS=$cpus
  mkdir -p "$STATE/ctld" "$STATE/d" /etc/slurm
  cat >"$CONF.tmp" <<EOF
$MARK
ClusterName=hzx
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=60
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=${memory:-2000} State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_daemon() {  # name binary
  local name=$1 binary=$2 pid
  pid=$(pid_of "$(pidfile "$name")")
  if alive "$pid" || pgrep -x "$name" >/dev/null; then
    return 0
  fi
  "$binary" >>"$STATE/$name.err" 2>&1 || { say "$name did not start (see $STATE/$name.log)"; return 1; }
  mark_started "$name"
}

start() {
  mkdir -p "$STATE"
  if answers && ! [ -f "$STATE/started" ]; then
    say "a Slurm controller already answers: nothing to start"
    return 0
  fi
  install_slurm
  resolve_host
  start_munge
  write_conf
  start_daemon slurmctld /usr/sbin/slurmctld
  start_daemon slurmd /usr/sbin/slurmd
  for _ in $(seq 100); do
    if answers; then
      local node
      node=$(sinfo -h -N -o %T | head -1)
      case $node in
        idle*|mix*|alloc*) say "Slurm is up: node $HOST ($node), $(sinfo -h -o %C) CPUs A/I/O/T"
                           return 0 ;;
        down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
      esac
    fi
    sleep 0.2
  done
  say "Slurm did not come up within 20 s; logs in $STATE"
  return 1
}

stop_one() {  # name
  local name=$1 pid
  started "$name" || return 0
  pid=$(pid_of "$(pidfile "$name")")
  if alive "$pid"; then
    kill "$pid"
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -9 "$pid"
  fi
  sed -i "/^$name\$/d" "$STATE/started"
}

stop() {
  [ -f "$STATE/started" ] || { say "nothing started by this script"; return 0; }
  # jobs of this cluster first, so that no worker outlives it
  if started slurmctld && answers; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    sleep 1
  fi
  stop_one slurmd
  stop_one slurmctld
  stop_one munged
  if started hosts; then
    sed -i "/$HOSTS_MARK\$/d" /etc/hosts
    sed -i '/^hosts$/d' "$STATE/started"
  fi
  [ -s "$STATE/started" ] || rm -f "$STATE/started"
  say "stopped"
}

status() {
  local name pid
  for name in munged slurmctld slurmd; do
    pid=$(pid_of "$(pidfile "$name")")
    if alive "$pid"; then
      echo "$name: running, pid $pid$(started "$name" && echo ' (started by slurm.sh)')"
    else
      echo "$name: not running (per $(pidfile "$name"))"
    fi
  done
  if answers; then
    sinfo
    return 0
  fi
  echo "sinfo: no Slurm controller answers"
  return 1
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
