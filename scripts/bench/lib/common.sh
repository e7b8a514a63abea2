# Shared helpers of scripts/bench/*: source this file from a bash benchmark run as root.
#
#   bench_at_exit CMD              run CMD (eval'd) at exit, last registered first
#   bench_scratch_mount [SIZE]     fresh journaled ext4 on a loop-mounted image: $BENCH_SCRATCH
#   bench_build_tspod DIR [REV]    build tspod at REV (default HEAD; worktree) in DIR: $TSPOD_DIR
#   bench_start_registry FIX...    loopback registry seeded with fixtures: $BENCH_REGISTRY
#   bench_prepare_identity WHO     private home, XDG dirs, tspod and Podman config for WHO (root or a user)
#   bench_tspod_cmd WHO, bench_podman_cmd WHO   the tools' command prefixes with WHO's stores
#   bench_as WHO CMD...            run CMD as WHO in that environment (env -i, setpriv for a user),
#                                  at niceness $BENCH_NICE
#   bench_stop_pause_processes WHO kill the rootless pause processes WHO's tspod/podman started
#   bench_rss_prefix FILE          `/usr/bin/time` prefix appending the command's peak RSS (KiB)
#   bench_hyperfine WHO ARGS...    hyperfine as WHO, output on stderr
#   bench_add_row FILE MODE ROW CANDIDATE BASELINE 'JSON...' [NAME=RSSFILE...]
#   bench_report ARGS...           node lib/report.js (tables, BENCHMARKS.md sections)
#   bench_machine_facts            Markdown bullets: machine, kernel, versions
#
# Everything lives on the scratch filesystem, which goes away at exit (trap), together with the
# registry and the pause processes of the benchmark's own stores.
set -euo pipefail

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_LIB/../../.." && pwd)
BENCH_USER=${TSPOD_BENCH_USER:-tspodci}
BENCH_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Niceness of everything bench_as runs (both tools alike): negative values damp the noise from
# other processes on a shared machine.
BENCH_NICE=${BENCH_NICE:-0}

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() {
  printf 'bench: error: %s\n' "$*" >&2
  exit 1
}

BENCH_CLEANUPS=()
bench_at_exit() { BENCH_CLEANUPS+=("$1"); }
bench_cleanup() {
  local i
  for ((i = ${#BENCH_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${BENCH_CLEANUPS[i]}" || bench_log "cleanup step failed: ${BENCH_CLEANUPS[i]}"
  done
  BENCH_CLEANUPS=()
}
trap bench_cleanup EXIT
# A signal ends the script through exit, so that the EXIT trap cleans up.
trap 'exit 130' INT TERM HUP

bench_require_root() {
  [ "$(id -u)" -eq 0 ] || bench_die "run as root: the scratch filesystem is a loop mount, and the rootless runs switch to $BENCH_USER"
  id -u "$BENCH_USER" >/dev/null 2>&1 || bench_die "user $BENCH_USER is missing (CI creates it with subordinate ids; TSPOD_BENCH_USER picks another)"
  local tool
  for tool in hyperfine podman setpriv mkfs.ext4 /usr/bin/time node jq; do
    command -v "$tool" >/dev/null || bench_die "$tool not found (scripts/setup.sh installs what benchmarks need)"
  done
}

# The root filesystem of these machines is ext4 without a journal, where file creation slows down
# after many deletions; benchmarks put every store on a fresh journaled ext4 instead.
bench_scratch_mount() {
  local size=${1:-4G} base
  base=$(mktemp -d /var/tmp/tspod-bench.XXXXXX)
  bench_at_exit "rm -rf --one-file-system '$base'"
  truncate -s "$size" "$base/fs.img"
  mkfs.ext4 -q -F -O has_journal -E lazy_itable_init=0,lazy_journal_init=0 "$base/fs.img"
  mkdir "$base/mnt"
  mount -o loop "$base/fs.img" "$base/mnt"
  bench_at_exit "bench_scratch_umount '$base/mnt'"
  chmod 755 "$base" "$base/mnt"
  BENCH_SCRATCH=$base/mnt
  local device host_fs
  device=$(findmnt -no SOURCE "$BENCH_SCRATCH")
  dumpe2fs -h "$device" 2>/dev/null | grep -q '^Filesystem features:.*has_journal' || bench_die "$device has no journal"
  host_fs=$(findmnt -no FSTYPE -T "$base")
  if dumpe2fs -h "$(findmnt -no SOURCE -T "$base")" 2>/dev/null | grep -q '^Filesystem features:.*has_journal'; then
    host_fs="$host_fs with a journal"
  else
    host_fs="$host_fs without a journal"
  fi
  BENCH_SCRATCH_DESC="ext4 with a journal ($(findmnt -no OPTIONS "$BENCH_SCRATCH")), freshly made on a $size sparse image file loop-mounted from $(dirname "$base") (itself $host_fs)"
  bench_log "scratch filesystem: $BENCH_SCRATCH_DESC at $BENCH_SCRATCH"
}

bench_scratch_umount() {
  local mnt=$1 i
  for i in 1 2 3 4 5; do
    umount "$mnt" 2>/dev/null && return 0
    sleep 1
  done
  bench_log "$mnt still busy; detaching it lazily"
  umount -l "$mnt"
}

# tspod as of commit REV (default HEAD), or the working tree's tracked and untracked files with
# REV=worktree, built in DIR with tsc and oclif's manifest like `npm run build`: a snapshot, so
# that others editing or rebuilding the repository during the run cannot change what is
# measured. The benchmark's own helpers (scripts/bench/lib) are always the working tree's;
# node_modules is the repository's.
bench_build_tspod() {
  local dest=$1 rev=${2:-HEAD}
  local parts=(bin src test scripts package.json tsconfig.json)
  mkdir -p "$dest"
  if [ "$rev" = worktree ]; then
    (cd "$BENCH_REPO" && git ls-files -z -co --exclude-standard -- "${parts[@]}" |
      tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$dest"
  else
    git -C "$BENCH_REPO" archive "$rev" -- "${parts[@]}" | tar -xf - -C "$dest"
  fi
  rm -rf "$dest/scripts/bench/lib"
  mkdir -p "$dest/scripts/bench"
  cp -r "$BENCH_LIB" "$dest/scripts/bench/lib"
  ln -s "$BENCH_REPO/node_modules" "$dest/node_modules"
  bench_log "building tspod ($rev) in $dest"
  if [ -e "$dest/scripts/build.mjs" ]; then
    # The bundled CLI (bin/tspod runs dist/bundle/tspod.cjs): the build writes it even when
    # tsc reports errors (often another engineer's file mid-edit), and then exits 1.
    if ! (cd "$dest" && node scripts/build.mjs >"$dest/build.log" 2>&1); then
      bench_log "the build reported errors; using what it wrote:"
      grep -v '^build: type errors' "$dest/build.log" | head -5 >&2
    fi
    [ -s "$dest/dist/bundle/tspod.cjs" ] && [ -s "$dest/oclif.manifest.json" ] || bench_die "the build of $rev wrote no bundle or manifest (see $dest/build.log)"
  else
    if ! (cd "$dest" && "$BENCH_REPO/node_modules/.bin/tsc" -p . >"$dest/tsc.log" 2>&1); then
      bench_log "tsc reported errors; using what it emitted:"
      head -5 "$dest/tsc.log" >&2
    fi
    (cd "$dest" && "$BENCH_REPO/node_modules/.bin/oclif" manifest >/dev/null 2>&1) || bench_die "oclif manifest failed in $dest (does $rev build?)"
  fi
  chmod -R a+rX "$dest"
  TSPOD_DIR=$dest
  if [ "$rev" = worktree ]; then
    local changed
    changed=$(git -C "$BENCH_REPO" status --porcelain -- src bin package.json | wc -l)
    TSPOD_VERSION="working tree on commit $(git -C "$BENCH_REPO" rev-parse --short=12 HEAD) with $changed changed files in src/ (snapshot sha256 $(cd "$dest" && find src bin -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12))"
  else
    TSPOD_VERSION="commit $(git -C "$BENCH_REPO" log -1 --format='%h (%cs)' --abbrev=12 "$rev")"
  fi
  bench_log "tspod: $TSPOD_VERSION"
}

bench_start_registry() {
  local dir=$BENCH_SCRATCH/registry i
  mkdir -p "$dir/tmp"
  # It stops on SIGTERM, or by itself when this script is gone.
  TMPDIR=$dir/tmp nice -n "$BENCH_NICE" node "$TSPOD_DIR/dist/scripts/bench/lib/registry.js" "$@" </dev/null >"$dir/out" 2>"$dir/log" &
  BENCH_REGISTRY_PID=$!
  bench_at_exit "bench_stop_registry"
  bench_log "seeding a loopback registry with $*"
  for ((i = 0; i < 600; i++)); do
    if grep -q '^READY ' "$dir/out"; then
      BENCH_REGISTRY=$(sed -n 's/^READY //p' "$dir/out")
      bench_log "registry $BENCH_REGISTRY ready"
      return 0
    fi
    kill -0 "$BENCH_REGISTRY_PID" 2>/dev/null || bench_die "the registry helper exited: $(tail -5 "$dir/log")"
    sleep 0.5
  done
  bench_die "the registry was not seeded within 5 minutes"
}

bench_stop_registry() {
  kill -TERM "$BENCH_REGISTRY_PID" 2>/dev/null || true
  wait "$BENCH_REGISTRY_PID" 2>/dev/null || true
}

declare -A BENCH_HOMES
bench_prepare_identity() {
  local who=$1 home=$BENCH_SCRATCH/$1
  mkdir -p "$home"/{home,run,config/containers,data,tmp,results}
  chmod 755 "$home"
  chmod 700 "$home"/{home,run,config,data,tmp}
  # Both tools read only these, not the user's or the machine's configuration.
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "${BENCH_REGISTRY:?start the registry first}" >"$home/config/containers/registries.conf"
  printf '{ "registries": { "%s": { "insecure": true } } }\n' "$BENCH_REGISTRY" >"$home/config/tspod-registries.json"
  printf '[engine]\nimage_copy_tmp_dir = "%s"\n' "$home/tmp" >"$home/config/containers/containers.conf"
  # Podman as root insists on a runroot in storage.conf; these are the flags' values too.
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$home/podman/root" "$home/podman/run" \
    >"$home/config/containers/storage.conf"
  [ "$who" = root ] || chown -R "$who:" "$home"
  BENCH_HOMES[$who]=$home
}

# The command prefixes of the two tools with WHO's stores: separate --root/--runroot each.
bench_tspod_cmd() {
  local home=${BENCH_HOMES[$1]:?bench_prepare_identity $1 first}
  echo "$TSPOD_DIR/bin/tspod --root $home/tspod/root --runroot $home/tspod/run"
}
bench_podman_cmd() {
  local home=${BENCH_HOMES[$1]:?bench_prepare_identity $1 first}
  echo "podman --root $home/podman/root --runroot $home/podman/run --storage-driver overlay"
}

bench_as() {
  local who=$1
  shift
  local home=${BENCH_HOMES[$who]:?bench_prepare_identity $who first}
  local env=(
    "PATH=$BENCH_PATH" "HOME=$home/home" "USER=$who" "LOGNAME=$who" LANG=C.UTF-8 "TMPDIR=$home/tmp"
    "XDG_RUNTIME_DIR=$home/run" "XDG_CONFIG_HOME=$home/config" "XDG_DATA_HOME=$home/data"
    "CONTAINERS_REGISTRIES_CONF=$home/config/containers/registries.conf"
    "CONTAINERS_CONF=$home/config/containers/containers.conf"
    "CONTAINERS_STORAGE_CONF=$home/config/containers/storage.conf"
    "TSPOD_REGISTRIES_CONF=$home/config/tspod-registries.json"
  )
  if [ "$who" = root ]; then
    nice -n "$BENCH_NICE" env -i "${env[@]}" "$@"
  else
    nice -n "$BENCH_NICE" setpriv --reuid="$who" --regid="$(id -g "$who")" --init-groups -- env -i "${env[@]}" "$@"
  fi
}

# Rootless tspod and podman each leave a pause process holding their user namespace; the ones
# of this benchmark's stores record their pid under WHO's scratch home.
bench_stop_pause_processes() {
  local who=$1 file pid uid
  local home=${BENCH_HOMES[$who]:-}
  [ -n "$home" ] || return 0
  while IFS= read -r file; do
    pid=$(head -n1 "$file")
    [[ $pid =~ ^[0-9]+$ ]] || continue
    uid=$(stat -c %u "/proc/$pid" 2>/dev/null) || continue
    [ "$uid" = "$(id -u "$who")" ] && kill -KILL "$pid" 2>/dev/null || true
  done < <(find "$home" -name pause.pid -type f 2>/dev/null)
}

bench_rss_prefix() { printf '/usr/bin/time -a -o %q -f %%M' "$1"; }

bench_hyperfine() {
  local who=$1
  shift
  bench_as "$who" hyperfine --style basic "$@" >&2
}

bench_add_row() {
  local file=$1 mode=$2 row=$3 candidate=$4 baseline=$5 json=$6
  shift 6
  local rss='{}' pair
  for pair in "$@"; do
    rss=$(jq -c --arg k "${pair%%=*}" --arg v "${pair#*=}" '. + {($k): $v}' <<<"$rss")
  done
  jq -nc --arg mode "$mode" --arg row "$row" --arg c "$candidate" --arg b "$baseline" \
    --argjson hf "$json" --argjson rss "$rss" \
    '{mode: $mode, row: $row, candidate: $c, baseline: $b, hyperfine: $hf, rss: $rss}' >>"$file"
}

bench_report() { node "$TSPOD_DIR/dist/scripts/bench/lib/report.js" "$@"; }

bench_machine_facts() {
  local cpu mem
  cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)
  mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
  echo "- Machine: $(nproc) CPUs (${cpu:-unknown model}), $mem RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "- Filesystem of both stores: $BENCH_SCRATCH_DESC"
  echo "- tspod: $TSPOD_VERSION, Node $(node --version)"
  echo "- $(podman --version), $(runc --version | head -n1), $(hyperfine --version)"
}
