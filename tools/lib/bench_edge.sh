# Shared by tools/bench-edge and tools/bench-edge-cost: the certificates, the app server and the
# three proxies' configurations, so that both measure the same set-up. Source it; the functions
# only write files (the callers start the processes their own way).

# edge_install PACKAGE...: installs the missing ones. Debian's nginx and haproxy start a daemon
# on install where an init system runs; a policy-rc.d that refuses every start keeps them from it
# (the benchmarks run their own instances).
edge_install() {
  local policy_rc=/usr/sbin/policy-rc.d
  if [ -e "$policy_rc" ]; then
    install_packages "$@"
    return
  fi
  printf '#!/bin/sh\n# tools/bench-edge: no daemon starts while it installs packages\nexit 101\n' |
    as_root tee "$policy_rc" >/dev/null
  as_root chmod 755 "$policy_rc"
  local rc=0
  install_packages "$@" || rc=$?
  as_root rm -f "$policy_rc"
  return $rc
}

# edge_pharos_bin: builds pharos (Release, build/release) when BUILD is 1, and checks PHAROS_BIN
# (default build/release/src/pharos). Expects ROOT and die.
edge_pharos_bin() {
  if [ "$BUILD" = 1 ]; then
    PHAROS_BIN=$ROOT/build/release/src/pharos
    log "building pharos (Release)"
    cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPHAROS_TESTS=OFF >/dev/null
    cmake --build "$ROOT/build/release" >/dev/null || die "build failed"
  fi
  [ -n "$PHAROS_BIN" ] || PHAROS_BIN=$ROOT/build/release/src/pharos
  [ -x "$PHAROS_BIN" ] || die "no pharos binary at $PHAROS_BIN"
}

# edge_session NAME: a temp dir TMP (removed on exit), HELPER (tools/lib/bench_edge.py), LIVE (the
# background processes started and not yet reaped: every one is stopped on exit, Ctrl-C or
# failure) and the traps that do it. Expects ROOT and log.
edge_session() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  declare -gA LIVE
  PY=$(python3 -c 'import sys; print(sys.executable)')
  HELPER=("$PY" "$ROOT/tools/lib/bench_edge.py")
  trap edge_cleanup EXIT
  trap 'log "interrupted"; exit 130' INT
  trap 'log "terminated"; exit 143' TERM
}

# Stops PID and every process below it: TERM (or the signal given), up to 10 s, then KILL.
stop_tree() {
  local pid=$1 sig=${2:-TERM} p pids alive i
  [ -d "/proc/$pid" ] || { wait "$pid" 2>/dev/null || true; unset "LIVE[$pid]"; return 0; }
  pids=$("${HELPER[@]}" tree "$pid" 2>/dev/null || echo "$pid")
  for p in $pids; do kill -"$sig" "$p" 2>/dev/null || true; done
  for i in $(seq 100); do
    alive=0
    for p in $pids; do
      if [ -r "/proc/$p/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null; then alive=1; fi
    done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  wait "$pid" 2>/dev/null || true
  unset "LIVE[$pid]"
}

edge_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${!LIVE[@]}"; do stop_tree "$pid"; done
  rm -rf "$TMP"
  exit $rc
}

# Runs a command in the background and waits for it, so that Ctrl-C and TERM are handled at once.
run_wait() {
  "$@" &
  local pid=$!
  LIVE[$pid]=1
  local rc=0
  wait "$pid" || rc=$?
  unset "LIVE[$pid]"
  return $rc
}

# edge_certs DIR: a self-signed ECDSA P-256 and an RSA-2048 certificate for bench.test and
# 127.0.0.1: DIR/{ecdsa,rsa}.{pem,key}, and DIR/{ecdsa,rsa}.both.pem (chain and key, HAProxy's).
edge_certs() {
  local dir=$1 c
  local subj=(-subj /CN=bench.test -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" -days 30 -nodes)
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$dir/ecdsa.key" \
    -out "$dir/ecdsa.pem" "${subj[@]}" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -keyout "$dir/rsa.key" -out "$dir/rsa.pem" "${subj[@]}" 2>/dev/null
  for c in ecdsa rsa; do cat "$dir/$c.pem" "$dir/$c.key" >"$dir/$c.both.pem"; done
}

# edge_nginx_http DIR: what both nginx configurations' http blocks start with: no access log,
# temp files in DIR, and clients kept for as many requests as come (the default closes after
# 1000: wrk would reconnect, with a handshake).
edge_nginx_http() {
  local dir=$1
  cat <<CONF
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
CONF
}

# edge_app_conf DIR PORT: DIR/nginx.conf for the app server, a separate nginx with one worker
# answering every request with a fixed 200 and keeping connections open for as many requests as
# come (the default closes after 1000).
edge_app_conf() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
$(edge_nginx_http "$dir")
  server {
    listen 127.0.0.1:$port;
    default_type text/plain;
    location / { return 200 "hello from the app server behind the proxy\n"; }
  }
}
CONF
}

# edge_proxy_conf PROXY DIR PORT CERTDIR CERT APP_PORT [IDLE [single]]: the proxy's
# configuration in DIR, listening on 127.0.0.1:PORT with CERTDIR/CERT.*, one worker, TLS 1.2 and
# 1.3, a kept-alive pool to the app server; prints the command line that runs it in the
# foreground, one word a line. IDLE (default 100): how many idle connections the limits must
# leave room for; `single` runs
# nginx without its master process (one process: what callgrind and strace follow whole).
edge_proxy_conf() {
  local proxy=$1 dir=$2 port=$3 certs=$4 cert=$5 app=$6 idle=${7:-100} single=${8:-}
  mkdir -p "$dir"
  case $proxy in
    pharos)
      cat >"$dir/pharos.yaml" <<CONF
edge:
  workers: 1
  https:
    listen: ["127.0.0.1:$port"]
    certificates:
      - cert: $certs/$cert.pem
        key: $certs/$cert.key
  routes:
    - pool: app
  pools:
    app:
      members: ["127.0.0.1:$app"]
  access_log: off
  limits:
    upstream_idle_per_member: 64
log:
  level: warn
CONF
      printf '%s\n' "${PHAROS_BIN:?}" --config "$dir/pharos.yaml"
      ;;
    nginx)
      # nginx 1.22: TLS 1.3 is off unless listed; keepalive_requests is 1000 by default for
      # clients (wrk would reconnect, with a handshake, every 1000 requests): raised. Upstream:
      # HTTP/1.1 with an idle pool (keepalive) and the Connection header cleared, as the others
      # do by default.
      cat >"$dir/nginx.conf" <<CONF
daemon off;
${single:+master_process off;}
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $((idle * 2 + 1000)); }
http {
$(edge_nginx_http "$dir")
  upstream app {
    server 127.0.0.1:$app;
    keepalive 64;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $certs/$cert.pem;
    ssl_certificate_key $certs/$cert.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
      printf '%s\n' nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
      ;;
    haproxy)
      # HAProxy 2.6: one process, one thread (-db: foreground, no master). http-reuse always:
      # any idle server connection serves any request, as nginx's keepalive pool does.
      cat >"$dir/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn $((idle + 1000))
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 60s
  timeout http-keep-alive 300s
frontend fe
  bind 127.0.0.1:$port ssl crt $certs/$cert.both.pem alpn http/1.1
  default_backend app
backend app
  http-reuse always
  server app1 127.0.0.1:$app
CONF
      printf '%s\n' haproxy -db -f "$dir/haproxy.cfg"
      ;;
    *) echo "edge_proxy_conf: unknown proxy $proxy" >&2; return 2 ;;
  esac
}
