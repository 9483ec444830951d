# Shared by tools/run, tools/test and the benchmarks: installing Debian packages and building.
# Source it; it expects to run from the repository root.

PHAROS_BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libldns-dev libyaml-cpp-dev
  libspdlog-dev libssl-dev catch2)
# Test peers and tools: dig, kdig, ldns-based tools, NSD and Knot for differential tests, clang's
# libFuzzer and sanitizer runtimes, curl and openssl (s_client) as the edge's TLS clients.
PHAROS_TEST_PACKAGES=(ca-certificates dnsutils knot-dnsutils ldnsutils nsd knot clang libclang-rt-14-dev curl openssl chromium)
PHAROS_BENCH_PACKAGES=(dnsperf valgrind nsd knot dnsutils python3)
PHAROS_FAILOVER_BENCH_PACKAGES=(pdns-server pdns-backend-bind gdnsd dnsutils python3 procps)
# tools/bench-edge: the peers (nginx also serves as the app server), the load, taskset (util-linux).
PHAROS_EDGE_BENCH_PACKAGES=(nginx haproxy wrk openssl python3 procps util-linux)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs whichever of the given Debian packages are missing.
install_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ncpu() { nproc 2>/dev/null || echo 2; }

# build DIR BUILD_TYPE [cmake args...]: configures once, then builds everything.
build() {
  local dir=$1 type=$2
  shift 2
  # Configure every time: it is quick once cached, and it applies these options even when the
  # directory was configured with others (tools/run builds without the tests, tools/test with).
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  cmake --build "$dir" -j "$(ncpu)"
}
