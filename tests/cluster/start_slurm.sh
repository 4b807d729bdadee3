#!/usr/bin/env bash
# Start a real single-node SLURM on localhost for tme's cluster tests.
#
#   sudo bash tests/cluster/start_slurm.sh     # idempotent: safe to call again
#   bash tests/cluster/stop_slurm.sh           # stops what this script started
#
# What it does (Debian/Ubuntu, as root, no systemd and no cgroups needed):
#   1. installs slurmctld, slurmd, slurm-client and munge with apt (skipped when
#      already installed; `apt-get update` only when the install needs it);
#   2. creates a munge key if there is none and starts munged if it is not running;
#   3. writes /etc/slurm/slurm.conf for one node "localhost" with all CPUs and
#      MemTotal - 1024 MB.  The config MUST live at /etc/slurm/slurm.conf: the
#      Snakemake SLURM job-step plugin strips every SLURM_* variable (SLURM_CONF
#      too) before its inner srun, so a config elsewhere fails every job;
#   4. starts slurmctld and slurmd, waits until the node is idle and prints the
#      pidfiles (stop_slurm.sh kills by those PIDs, never by process name, and removes
#      the slurm.conf written here, restoring one it replaced).
#
# No accounting (no slurmdbd/MariaDB): Snakemake must then be run with
# `--slurm-status-command squeue` (tests/cluster/profile-test does this), and
# MinJobAge is 3600 s so that finished jobs stay visible to squeue long enough.
#
# Environment:
#   TME_SLURM_DIR        scratch dir for state, spool, logs and pidfiles
#                        (default /tmp/tme-slurm)
#   TME_SLURM_TIMEOUT    seconds to wait for the node to become idle (default 60)
#
# Exit codes: 0 running; 2 this machine cannot run SLURM (not root, no apt and no
# SLURM binaries, apt install failed); 3 daemons did not come up (see the logs).
set -euo pipefail

SCRATCH="${TME_SLURM_DIR:-/tmp/tme-slurm}"
TIMEOUT="${TME_SLURM_TIMEOUT:-60}"
CONF=/etc/slurm/slurm.conf
MARKER="# tme-test-cluster: written by tests/cluster/start_slurm.sh"
CTLD_PID="$SCRATCH/run/slurmctld.pid"
SLURMD_PID="$SCRATCH/run/slurmd.pid"
MUNGED_OURS="$SCRATCH/run/munged.started-by-tme"   # holds munged's PID if we started it
MUNGE_PIDFILE=/run/munge/munged.pid
CONF_BACKUP_OURS="$SCRATCH/run/slurm.conf.backup-path"   # holds the backup of a slurm.conf found here

say()  { printf 'start_slurm: %s\n' "$*"; }
cannot() { printf 'start_slurm: CANNOT RUN SLURM HERE: %s\n' "$*" >&2; exit 2; }
fail()   { printf 'start_slurm: ERROR: %s\n' "$*" >&2; exit 3; }

# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_state() { timeout 10 sinfo -h -o %T 2>/dev/null | head -n1 | tr -d '*~#$@ ' || true; }

print_pidfiles() {
  say "slurmctld pidfile: $CTLD_PID (pid $(cat "$CTLD_PID" 2>/dev/null || echo '?'))"
  say "slurmd    pidfile: $SLURMD_PID (pid $(cat "$SLURMD_PID" 2>/dev/null || echo '?'))"
  if [[ -s "$MUNGED_OURS" ]]; then
    say "munged    pid (started here): $(cat "$MUNGED_OURS")"
  fi
  say "logs: $SCRATCH/log/  config: $CONF"
}

# The slurm.conf this script wants (compared with the current one to decide on a restart).
CPUS="$(nproc)"
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
write_conf() {
  cat <<EOF
$MARKER
# Single-node test cluster: one node "localhost", partition "debug".
ClusterName=tme-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
SlurmctldPort=6817
SlurmdPort=6818
# no systemd / no cgroups in the test container
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# Memory enforcement without cgroups: sample each step's RSS from /proc every second and kill
# a step that exceeds the job's --mem (what a real cluster's cgroup limit does, roughly).
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
# no accounting database: snakemake must use --slurm-status-command squeue
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# keep finished jobs visible to squeue for 1 h: the plugin's squeue status mode needs >= 120 s,
# and the tests read the final states of every job of a run from squeue (no sacct here)
MinJobAge=3600
SlurmctldTimeout=30
SlurmdTimeout=30
# Snakemake imports the SLURM executor plugin on every call, and the plugin runs "scontrol show
# config" then: with a controller that is gone, scontrol waits MessageTimeout - 1 s (9 s by
# default). stop_slurm.sh removes this file (no wait at all); 5 s bounds the wait if the cluster
# dies without it and is ample for messages on localhost.
MessageTimeout=5
InactiveLimit=0
KillWait=5
Waittime=0
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

# ---------------------------------------------------------------- preconditions
[[ "$(id -u)" == 0 ]] || cannot "must run as root (it installs packages and writes $CONF)"
[[ "$(uname -s)" == Linux ]] || cannot "needs Linux"
(( MEM_MB > 256 )) || cannot "too little memory for a test node (${MEM_MB} MB after reserving 1024 MB)"

# ---------------------------------------------------------------- already up?
if alive_pid "$CTLD_PID" slurmctld >/dev/null && alive_pid "$SLURMD_PID" slurmd >/dev/null \
   && [[ "$(cat "$CONF" 2>/dev/null)" == "$(write_conf)" ]] && [[ "$(node_state)" == idle || "$(node_state)" == mixed || "$(node_state)" == allocated ]]; then
  say "already running (node $(node_state))"
  print_pidfiles
  exit 0
fi

# ---------------------------------------------------------------- packages
PKGS=(slurmctld slurmd slurm-client munge)
installed() { dpkg-query -W -f='${Status}\n' "$@" 2>/dev/null | grep -c '^install ok installed$' || true; }
if [[ "$(installed "${PKGS[@]}")" != "${#PKGS[@]}" ]]; then
  command -v apt-get >/dev/null || cannot "SLURM packages missing and no apt-get to install them"
  export DEBIAN_FRONTEND=noninteractive
  say "installing ${PKGS[*]} with apt-get"
  if ! apt-get install -y --no-install-recommends "${PKGS[@]}" >"${TMPDIR:-/tmp}/tme-slurm-apt.log" 2>&1; then
    say "install failed with the current package lists; running apt-get update once"
    apt-get update >>"${TMPDIR:-/tmp}/tme-slurm-apt.log" 2>&1 \
      || cannot "apt-get update failed (see ${TMPDIR:-/tmp}/tme-slurm-apt.log)"
    apt-get install -y --no-install-recommends "${PKGS[@]}" >>"${TMPDIR:-/tmp}/tme-slurm-apt.log" 2>&1 \
      || cannot "apt-get install ${PKGS[*]} failed (see ${TMPDIR:-/tmp}/tme-slurm-apt.log)"
  fi
fi
for b in slurmctld slurmd sinfo sbatch squeue munged munge unmunge; do
  command -v "$b" >/dev/null || cannot "binary $b not found after install"
done

# ---------------------------------------------------------------- munge
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
chown munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge; chmod 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  say "creating /etc/munge/munge.key"
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
if ! timeout 5 bash -c 'munge -n | unmunge' >/dev/null 2>&1; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 1 50); do
    timeout 5 bash -c 'munge -n | unmunge' >/dev/null 2>&1 && break
    sleep 0.1
  done
  timeout 5 bash -c 'munge -n | unmunge' >/dev/null 2>&1 || fail "munged does not answer (see /var/log/munge/munged.log)"
  mkdir -p "$SCRATCH/run"
  if pid="$(alive_pid "$MUNGE_PIDFILE" munged)"; then echo "$pid" >"$MUNGED_OURS"; fi
fi

# ---------------------------------------------------------------- slurm.conf
# Stop daemons of an earlier run of this script (half-started, or with another config), by pidfile.
for f in "$SLURMD_PID:slurmd" "$CTLD_PID:slurmctld"; do
  if pid="$(alive_pid "${f%%:*}" "${f##*:}")"; then
    say "stopping stale ${f##*:} (pid $pid)"; kill "$pid" || true
    for _ in $(seq 1 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.1; done
  fi
done

mkdir -p "$SCRATCH"/{state,spool,log,run} /etc/slurm

if [[ -e "$CONF" ]] && ! grep -qF "$MARKER" "$CONF"; then
  backup="$CONF.before-tme.$(date +%s)"
  cp -p "$CONF" "$backup"
  echo "$backup" >"$CONF_BACKUP_OURS"
  say "backed up an existing $CONF"
fi
write_conf >"$CONF"
chmod 0644 "$CONF"

# ---------------------------------------------------------------- daemons
say "starting slurmctld and slurmd (CPUs=$CPUS RealMemory=${MEM_MB}MB)"
slurmctld -f "$CONF" -i || fail "slurmctld did not start (see $SCRATCH/log/slurmctld.log)"
slurmd -f "$CONF" -N localhost || fail "slurmd did not start (see $SCRATCH/log/slurmd.log)"

deadline=$(( SECONDS + TIMEOUT ))
state=""
while (( SECONDS < deadline )); do
  state="$(node_state)"
  [[ "$state" == idle ]] && break
  sleep 0.5
done
if [[ "$state" != idle ]]; then
  printf 'start_slurm: ERROR: node not idle after %ss (state: %s)\n' "$TIMEOUT" "${state:-no answer}" >&2
  tail -n 20 "$SCRATCH/log/slurmctld.log" "$SCRATCH/log/slurmd.log" >&2 2>/dev/null || true
  exit 3
fi
alive_pid "$CTLD_PID" slurmctld >/dev/null || fail "slurmctld pidfile $CTLD_PID missing or stale"
alive_pid "$SLURMD_PID" slurmd >/dev/null || fail "slurmd pidfile $SLURMD_PID missing or stale"
say "SLURM is up: node localhost idle, partition debug"
print_pidfiles
