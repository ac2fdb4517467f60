#!/bin/sh
# The container's entry point (Dockerfile, docker-compose.yml): `qa serve` on loopback
# (QA_HOST:QA_PORT, default 127.0.0.1:8001) behind nginx on FRONT_LISTEN (default
# 0.0.0.0:8000), with deploy/nginx.conf. nginx becomes this process (exec), so it gets the
# container's signals; if `qa serve` ends, its watcher tells nginx to quit, and the container
# ends either way — an orchestrator restarts it whole.
#   --front-only   nginx alone, in front of a `qa serve` started elsewhere (the tests do this)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
listen=${FRONT_LISTEN:-0.0.0.0:8000}
prefix=${FRONT_PREFIX:-/tmp/qa-front}
upstream="${QA_HOST:-127.0.0.1}:${QA_PORT:-8001}"
nginx=${NGINX:-nginx}

mkdir -p "$prefix/tmp"
sed -e "s/@LISTEN@/$listen/" -e "s/@UPSTREAM@/$upstream/" "$here/nginx.conf" > "$prefix/nginx.conf"
# -e: nginx's own start-up log goes to stderr, not to /var/log (not writable by the user)
"$nginx" -t -q -e stderr -p "$prefix/" -c "$prefix/nginx.conf"

if [ "${1:-}" != "--front-only" ]; then
    export QA_HOST="${QA_HOST:-127.0.0.1}" QA_PORT="${QA_PORT:-8001}"
    # $$ is this process, which is nginx once exec'd below
    (qa serve --workers "${QA_WORKERS:-2}"; echo "qa serve exited: stopping nginx" >&2;
     kill -QUIT $$) &
fi
exec "$nginx" -e stderr -p "$prefix/" -c "$prefix/nginx.conf" -g "daemon off;"
