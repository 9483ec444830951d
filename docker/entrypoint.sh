#!/bin/sh
# pharos-entrypoint: the image's entry point (docker/Dockerfile).
#
#   pharos-entrypoint [pharos arguments]   renders the config templates, starts the demo app when
#                                          asked, then becomes pharos (exec: signals go straight to it)
#   pharos-entrypoint healthcheck          the image's HEALTHCHECK: `pharos ctl status` answers
#
# Templates: every /etc/pharos/*.yaml.in is written to /run/pharos/*.yaml with each ${PHAROS_NAME}
# replaced by that environment variable (only PHAROS_* names; an unset one is an error naming the
# file and line). So one config serves a Docker network (addresses of the compose network) and
# podman's host network (distinct loopback addresses and ports): only the variables differ. Use
# absolute paths in templates: relative ones resolve from /run/pharos.
#
# PHAROS_DEMO_APP=ADDRESS:PORT (the demo image only) starts a tiny app server there first.
set -eu
run=/run/pharos

if [ "${1:-}" = healthcheck ]; then
  exec pharos ctl --config "$(cat "$run/config-path")" status >/dev/null
fi

for template in /etc/pharos/*.yaml.in; do
  [ -e "$template" ] || continue
  out="$run/$(basename "$template" .in)"
  awk '{
    while (match($0, /\$\{PHAROS_[A-Z0-9_]+\}/)) {
      name = substr($0, RSTART + 2, RLENGTH - 3)
      if (!(name in ENVIRON)) {
        printf "%s:%d: %s is not set\n", FILENAME, FNR, name > "/dev/stderr"
        exit 2
      }
      $0 = substr($0, 1, RSTART - 1) ENVIRON[name] substr($0, RSTART + RLENGTH)
    }
    print
  }' "$template" > "$out.tmp"
  mv "$out.tmp" "$out"
done

# Remember the config for the health check.
config=/etc/pharos/pharos.yaml
prev=
for arg in "$@"; do
  [ "$prev" = --config ] && config=$arg
  prev=$arg
done
echo "$config" > "$run/config-path"

if [ -n "${PHAROS_DEMO_APP:-}" ]; then
  pharos-demo-app "$PHAROS_DEMO_APP" &
fi
exec pharos "$@"
