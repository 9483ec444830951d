#!/usr/bin/env bash
# The container image and docker/compose.yaml's stack, for real, with podman: builds the image
# (and its demo target), starts dns, app1 and app2 as compose.yaml describes them, waits for
# www.example.com to answer app1, stops app1 and waits for www to answer app2, starts app1 again
# and waits for www to come back to it. Run by ctest (integration/docker).
#
#   tests/integration/docker_test.sh SOURCE_DIR
#
# Without podman it says WARN and passes (CI does not install podman: see docs/operations.md,
# "Containers"). Without the base image docker.io/library/debian:bookworm it makes it with
# ../shared/tools/container-base.sh when that exists and we are root; else WARN and pass.
# PHAROS_DOCKER_TEST=0 skips it.
#
# podman-compose is not used: containers here get the host's network only (see the flags of
# container-base.sh), which compose.yaml's own network with fixed addresses cannot become without a
# second compose file. The containers are started with `podman run`, with the
# environment, mounts and command of compose.yaml, on the host's network: each "host" gets its
# own loopback address (127.X.Y.10 dns, .11 app1, .12 app2) and the standard ports 53, 80, 443,
# which the non-root user in the image binds thanks to CAP_NET_BIND_SERVICE.
set -euo pipefail
src=$(cd "${1:?usage: docker_test.sh SOURCE_DIR}" && pwd)

warn() { echo "WARN: docker test skipped: $*"; exit 0; }
[ "${PHAROS_DOCKER_TEST:-1}" = 0 ] && warn "PHAROS_DOCKER_TEST=0"
command -v podman >/dev/null || warn "podman is not installed (apt-get install podman runc; see docs/operations.md)"
command -v dig >/dev/null || warn "dig is not installed (dnsutils)"
command -v curl >/dev/null || warn "curl is not installed"

base=$src/../shared/tools/container-base.sh
PODMAN_RUNTIME=${PODMAN_RUNTIME:-}
PODMAN_FLAGS=${PODMAN_FLAGS:-}
if [ -x "$base" ] || [ -f "$base" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    # Makes the base image when missing, and prints the flags this sandbox needs.
    eval "$(bash "$base" | grep '^export ')"
  fi
fi
podman image exists docker.io/library/debian:bookworm ||
  warn "no docker.io/library/debian:bookworm image (make it with ../shared/tools/container-base.sh, as root)"
# (podman complains on each run that it cannot schedule health checks without systemd: dropped.)
podman_() { podman $PODMAN_RUNTIME "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

tag=localhost/pharos:test
demo=localhost/pharos-demo:test
step() { echo "== $(date +%T) $*"; }

step "building $tag and $demo (compiles pharos in the image: minutes)"
t0=$SECONDS
# --format docker keeps the HEALTHCHECK (OCI images have none).
podman_ build $PODMAN_FLAGS --format docker -q -t "$tag" -f "$src/docker/Dockerfile" "$src" >/dev/null
podman_ build $PODMAN_FLAGS --format docker -q --target demo -t "$demo" -f "$src/docker/Dockerfile" "$src" >/dev/null
echo "built in $((SECONDS - t0)) s; $(podman image inspect --format '{{.Size}}' "$tag") bytes (runtime image)"

# A loopback /24 of our own for this run: 127.X.Y.0.
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1))
dns=$net.10 app1=$net.11 app2=$net.12
name=pharos-test-$$
containers=()
cleanup() {
  for c in "${containers[@]}"; do
    podman_ logs "$c" >"${TMPDIR:-/tmp}/$c.log" 2>&1 || true
    podman_ rm -f -t 0 "$c" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# As compose.yaml's services, with the host-network values of the PHAROS_* variables.
start_dns() {
  containers+=("$name-dns")
  podman_ run -d --name "$name-dns" $PODMAN_FLAGS \
    -e PHAROS_DNS_LISTEN="$dns:53" -e PHAROS_APP1_ADDR="$app1" -e PHAROS_APP2_ADDR="$app2" \
    -e PHAROS_APP_HTTP_PORT=80 \
    -v "$src/docker/dns/pharos.yaml.in:/etc/pharos/pharos.yaml.in:ro" \
    -v "$src/docker/dns/zones:/etc/pharos/zones:ro" \
    "$tag" --config /run/pharos/pharos.yaml >/dev/null
}
start_app() {  # NAME ADDRESS
  containers+=("$name-$1")
  podman_ run -d --name "$name-$1" $PODMAN_FLAGS \
    -e PHAROS_EDGE_ADDR="$2" -e PHAROS_EDGE_HTTP_PORT=80 -e PHAROS_EDGE_HTTPS_PORT=443 \
    -e PHAROS_DEMO_APP="$2:8080" -e PHAROS_DEMO_NAME="$1" \
    -v "$src/docker/app/pharos.yaml.in:/etc/pharos/pharos.yaml.in:ro" \
    "$demo" --config /run/pharos/pharos.yaml >/dev/null
}
www() { dig @"$dns" -p 53 www.example.com A +short +time=1 +tries=1 2>/dev/null | tr '\n' ' ' | sed 's/ $//'; }
# wait_www EXPECTED LIMIT_SECONDS: until www answers exactly EXPECTED; prints the seconds it took.
wait_www() {
  local start=$SECONDS got=
  while [ $((SECONDS - start)) -lt "$2" ]; do
    got=$(www)
    [ "$got" = "$1" ] && { echo "$((SECONDS - start))"; return 0; }
    sleep 0.2
  done
  echo "www.example.com answered '$got', not '$1', for ${2}s" >&2
  return 1
}
fail() { echo "FAIL: $*" >&2; exit 1; }

step "starting dns ($dns), app1 ($app1), app2 ($app2)"
start_app app1 "$app1"
start_app app2 "$app2"
start_dns

# Both checks must pass first: with both down, the failover record fails open to app1 anyway.
# wait_log CONTAINER REGEX LIMIT_SECONDS
wait_log() {
  local start=$SECONDS
  until podman_ logs "$name-$1" 2>&1 | grep -Eq "$2"; do
    [ $((SECONDS - start)) -lt "$3" ] || return 1
    sleep 0.2
  done
}
step "www answers app1 once both checks pass"
for check in app1-edge app2-edge; do
  wait_log dns "check $check [^ ]+: [a-z]+ -> healthy" 60 || fail "dns never saw $check healthy"
done
wait_www "$app1" 60 >/dev/null || fail "www never answered app1"
body=$(curl -sS --max-time 5 -k --resolve "www.example.com:443:$app1" https://www.example.com/)
[ "$body" = "hello from app1" ] || fail "app1's edge answered '$body'"
redirect=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Host: www.example.com' "http://$app1/x")
[ "$redirect" = "301 https://www.example.com/x" ] || fail "app1's port 80 answered '$redirect'"

step "the processes run as pharos, not root, with CAP_NET_BIND_SERVICE only"
for c in dns app1; do
  user=$(podman_ exec "$name-$c" stat -c %U /proc/1)
  [ "$user" = pharos ] || fail "$c: pid 1 runs as '$user'"
  caps=$(podman_ exec "$name-$c" sh -c 'grep CapEff /proc/1/status' | awk '{print $2}')
  [ "$caps" = 0000000000000400 ] || fail "$c: effective capabilities $caps, expected CAP_NET_BIND_SERVICE (0x400) alone"
done
podman_ healthcheck run "$name-dns" || fail "the image's HEALTHCHECK (pharos ctl status) failed on dns"
podman_ exec "$name-dns" pharos ctl --config /run/pharos/pharos.yaml status | grep -q 'app1-edge' ||
  fail "pharos ctl status on dns does not show app1-edge"

step "stopping app1: www fails over to app2"
podman_ stop -t 30 "$name-app1" >/dev/null &
stopper=$!
took=$(wait_www "$app2" 60) || fail "www did not fail over to app2"
wait "$stopper"
echo "failover: www answered app2 ${took}s after podman stop app1 (checks: interval 1s, fall 2, timeout 500ms)"
body=$(curl -sS --max-time 5 -k --resolve "www.example.com:443:$app2" https://www.example.com/)
[ "$body" = "hello from app2" ] || fail "app2's edge answered '$body'"
podman_ logs "$name-app1" 2>&1 | grep -q 'drain' || fail "app1's edge did not log a drain on SIGTERM"

step "starting app1 again: www comes back to it"
podman_ start "$name-app1" >/dev/null
took=$(wait_www "$app1" 60) || fail "www did not come back to app1"
echo "failback: www answered app1 ${took}s after podman start app1 (rise 2)"
step "PASS"
