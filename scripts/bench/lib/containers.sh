# Helpers of benchmarks that run containers; source after common.sh.
#
#   bench_podman_engine WHO              Podman's engine settings for WHO (appended to its containers.conf)
#   bench_tspod_commands                 the command ids the measured tspod build has (one a line)
#   bench_wait_while PATTERN SECONDS     wait (bounded) while a process's command line matches PATTERN
#   bench_helper_memory ARGS...          node lib/helper-memory.js (scan, table)
#   BENCH_INSPECT_FORMAT                 inspect --format giving helper-memory.js's container lines
#   bench_trace_timeline ARGS...         node lib/timeline.js
#   bench_cpu_profile_summary ARGS...    node lib/cpu-profile.js
#   bench_sweep_containers               kill what containers of the scratch stores left running, unmount their rootfs

# Podman's settings, each for a reason of this machine:
# - runc, as tspod uses here: Podman 4.3 defaults to crun, which refuses cgroup-hybrid hosts
#   (machine-facts.md); cgroupfs: there is no systemd to manage cgroups.
# As root only:
# - tmp_dir: its temporary state (locks, alive file) would be the machine's /run/libpod.
# - the hard limits as nofile and nproc, where root lacks CAP_SYS_RESOURCE (a container
#   sandbox): Podman's defaults (1048576 each) make runc fail there, while tspod clamps its
#   nofile default to the hard limit itself; nproc at most 32768, the hard limit Podman's own
#   process runs with here (conmon and runc inherit it).
bench_podman_engine() {
  local who=$1 home=${BENCH_HOMES[$1]:?bench_prepare_identity $1 first}
  local conf=$home/config/containers/containers.conf caps
  [ "$(grep -c '^\[' "$conf")" -eq 1 ] && grep -q '^\[engine\]' "$conf" || bench_die "$conf: expected an [engine] section only"
  printf 'runtime = "runc"\ncgroup_manager = "cgroupfs"\n' >>"$conf"
  [ "$who" = root ] || return 0
  printf 'tmp_dir = "%s"\n' "$home/run/libpod-tmp" >>"$conf"
  caps=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  if ! (((16#$caps >> 24) & 1)); then
    local nofile nproc
    nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
    [ "$nproc" != unlimited ] && ((nproc <= 32768)) || nproc=32768
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" >>"$conf"
  fi
}

bench_tspod_commands() { jq -r '.commands | keys[]' "$TSPOD_DIR/oclif.manifest.json"; }

bench_wait_while() {
  local pattern=$1 seconds=$2 i
  for ((i = 0; i < seconds * 10; i++)); do
    pgrep -f -- "$pattern" >/dev/null || return 0
    sleep 0.1
  done
  bench_log "still running after ${seconds}s: $(pgrep -a -f -- "$pattern" | head -3 | cut -c1-160)"
  return 1
}

# `ID PID CONMON_PID SANDBOX_KEY` of a running container, for tspod and Podman alike.
BENCH_INSPECT_FORMAT='{{.Id}} {{.State.Pid}} {{.State.ConmonPid}} {{.NetworkSettings.SandboxKey}}'

bench_helper_memory() { node "$TSPOD_DIR/dist/scripts/bench/lib/helper-memory.js" "$@"; }
bench_trace_timeline() { node "$TSPOD_DIR/dist/scripts/bench/lib/timeline.js" "$@"; }
bench_cpu_profile_summary() { node "$TSPOD_DIR/dist/scripts/bench/lib/cpu-profile.js" "$@"; }

# The last resort at exit, after each engine's own `rm -a -f`: conmon processes whose command
# line names the scratch filesystem are killed together with their children (each container's
# first process: the rest of its pid namespace dies with it), and mounts on the scratch
# filesystem (root's container overlays live in the host's mount namespace) are lazily unmounted.
bench_sweep_containers() {
  local pid child killed=0 target
  [ -n "${BENCH_SCRATCH:-}" ] || return 0
  while IFS= read -r pid; do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$BENCH_SCRATCH/" || continue
    for child in $(pgrep -P "$pid"); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$pid" 2>/dev/null && killed=$((killed + 1))
  done < <(pgrep -x conmon)
  ((killed == 0)) || bench_log "killed $killed leftover conmon processes and their containers"
  while IFS= read -r target; do
    umount -l "$target" 2>/dev/null && bench_log "unmounted leftover $target"
  done < <(findmnt -rn -o TARGET | grep -F -- "$BENCH_SCRATCH/" | sort -r)
}
