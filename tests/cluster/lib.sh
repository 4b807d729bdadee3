# Shared by start_slurm.sh and stop_slurm.sh (sourced, not run).

# PID from a pidfile if that process is alive and is the expected program
# (guards against a recycled PID).
alive_pid() {  # $1 pidfile  $2 expected comm (prefix)
  local f="$1" want="$2" pid comm
  [[ -s "$f" ]] || return 1
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
  [[ "$comm" == "$want"* ]] || return 1
  printf '%s' "$pid"
}
