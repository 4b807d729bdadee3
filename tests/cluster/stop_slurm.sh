#!/usr/bin/env bash
# Stop the test SLURM started by tests/cluster/start_slurm.sh.
#
# Cancels queued/running jobs, then stops slurmd and slurmctld by the PIDs in
# their pidfiles (never by process name), and munged only if start_slurm.sh
# started it; removes the slurm.conf start_slurm.sh wrote (restoring the one it
# replaced, if any).  Safe to call when nothing is running.
#
#   bash tests/cluster/stop_slurm.sh            # keep $TME_SLURM_DIR (logs)
#   bash tests/cluster/stop_slurm.sh --purge    # also delete $TME_SLURM_DIR
set -uo pipefail

SCRATCH="${TME_SLURM_DIR:-/tmp/tme-slurm}"
CTLD_PID="$SCRATCH/run/slurmctld.pid"
SLURMD_PID="$SCRATCH/run/slurmd.pid"
MUNGED_OURS="$SCRATCH/run/munged.started-by-tme"

say() { printf 'stop_slurm: %s\n' "$*"; }

# shellcheck source=tests/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_pid() {  # $1 pid  $2 label
  local pid="$1" label="$2"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do [[ -d "/proc/$pid" ]] || { say "stopped $label (pid $pid)"; return 0; }; sleep 0.1; done
  say "$label (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# Cancel this cluster's jobs first so that no slurmstepd outlives slurmd.
if alive_pid "$CTLD_PID" slurmctld >/dev/null; then
  jobs="$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')"
  if [[ -n "${jobs// }" ]]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    timeout 10 scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 50); do
      [[ -z "$(timeout 5 squeue -h -t R,CG,PD -o %i 2>/dev/null)" ]] && break; sleep 0.2
    done
  fi
fi

if pid="$(alive_pid "$SLURMD_PID" slurmd)"; then stop_pid "$pid" slurmd; else say "slurmd not running"; fi
if pid="$(alive_pid "$CTLD_PID" slurmctld)"; then stop_pid "$pid" slurmctld; else say "slurmctld not running"; fi
if [[ -s "$MUNGED_OURS" ]]; then
  if pid="$(alive_pid "$MUNGED_OURS" munged)"; then stop_pid "$pid" munged; fi
  rm -f "$MUNGED_OURS"
fi
rm -f "$CTLD_PID" "$SLURMD_PID"

# Remove the test cluster's slurm.conf (restoring one start_slurm.sh replaced): the Snakemake SLURM
# plugin runs "scontrol show config" at every Snakemake start, and with a config naming a stopped
# controller that call waits MessageTimeout (4 s); with no config it fails at once.
CONF=/etc/slurm/slurm.conf
MARKER="# tme-test-cluster: written by tests/cluster/start_slurm.sh"
if grep -qF "$MARKER" "$CONF" 2>/dev/null; then
  backup="$(cat "$SCRATCH/run/slurm.conf.backup-path" 2>/dev/null || true)"
  if [[ -n "$backup" && -s "$backup" ]]; then
    mv -f "$backup" "$CONF" && say "restored $CONF from $backup"
  else
    rm -f "$CONF" && say "removed the test cluster's $CONF"
  fi
  rm -f "$SCRATCH/run/slurm.conf.backup-path"
fi

if [[ "${1:-}" == --purge ]]; then
  rm -rf -- "$SCRATCH"
  say "removed $SCRATCH"
fi
exit 0
