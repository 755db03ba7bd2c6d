# Shared by the quick-start scripts: install what is missing, then build.
# Sourced, not run. Expects $ROOT (the project root).

# Debian packages sonify needs to build and run.
SONIFY_PACKAGES=(
  g++ make cmake pkg-config ccache
  libtorch-dev libeigen3-dev libfluidsynth-dev libcli11-dev nlohmann-json3-dev catch2
  libebur128-dev
  libglib2.0-dev         # GLib's log handler: keeps libinstpatch's messages off stderr
  libopenblas0-pthread   # replaces the reference BLAS that libtorch and LAPACK link (10-30x)
  liblapack-dev          # liblapack.so to link the analysis against; OpenBLAS serves it at run time
  fluid-soundfont-gm     # the General MIDI soundfont the renderer uses
  libcairo2-dev          # PNG output of `sonify report --png`
  libfftw3-dev           # convolution reverb of the direct synthesis styles
)

log() { printf 'sonify-setup: %s\n' "$*" >&2; }

# Installs the packages given that dpkg does not report as installed. Runs no
# apt-get update when nothing is missing, so a warm run costs a few milliseconds.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "need root or sudo to install ${missing[*]}"; return 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq || return 1
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
}

# Configures and builds a CMake preset ("release" or "asan").
build_preset() {
  local preset=$1
  (cd "$ROOT" && cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset") || {
    log "build failed ($preset)"
    return 1
  }
}
