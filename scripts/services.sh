#!/usr/bin/env bash
# Installs (when missing) and starts the real parts the test suite runs against:
# PostgreSQL, Redis, a Docker engine, a private registry, and the local test images.
# Safe to run again: every step checks first and reuses what is there.
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }

APT_PACKAGES=(postgresql redis-server docker.io busybox-static iptables iproute2 docker-registry apache2-utils curl)
# The orchestration benchmark's baseline (bench/orchestration.py): Debian's docker-compose 1.29.
APT_PACKAGES+=(docker-compose)
# The dashboard's browser tests (tests/ui): Debian's headless Chromium and its driver, and a font to draw text with.
APT_PACKAGES+=(chromium chromium-driver fonts-dejavu-core)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL
PG_VERSION=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  log "starting postgresql $PG_VERSION"
  pg_ctlcluster "$PG_VERSION" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='tutum'" | grep -q 1 \
  || runuser -u postgres -- psql -qc "CREATE ROLE tutum LOGIN PASSWORD 'tutum' CREATEDB;"
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='tutum'" | grep -q 1 \
  || runuser -u postgres -- psql -qc "CREATE DATABASE tutum OWNER tutum;"

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting redis"
  mkdir -p /run/redis && chown redis:redis /run/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
  for _ in $(seq 1 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

# Docker engine
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

# Private registry for the image tests: htpasswd auth, plain HTTP on 127.0.0.1 (an insecure registry by
# default for 127.0.0.0/8). Two fixed test accounts; each test instance pushes under <instance>/.
REGISTRY_DIR=/var/lib/tutum-test-registry
REGISTRY_ADDR=127.0.0.1:5000
registry_answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_ADDR/v2/" 2>/dev/null)" = 401 ]; }
if ! registry_answers; then
  mkdir -p "$REGISTRY_DIR/data"
  if [ ! -s "$REGISTRY_DIR/htpasswd" ]; then
    htpasswd -Bbn tutum-test 'first-Secret-7f3a' >"$REGISTRY_DIR/htpasswd"
    htpasswd -Bbn tutum-test2 'second-Secret-9c1e' >>"$REGISTRY_DIR/htpasswd"
  fi
  printf '%s\n' \
    'version: 0.1' \
    'log:' \
    '  level: warn' \
    'storage:' \
    '  filesystem:' \
    "    rootdirectory: $REGISTRY_DIR/data" \
    '  delete:' \
    '    enabled: true' \
    'http:' \
    "  addr: $REGISTRY_ADDR" \
    'auth:' \
    '  htpasswd:' \
    '    realm: basic-realm' \
    "    path: $REGISTRY_DIR/htpasswd" >"$REGISTRY_DIR/config.yml"
  log "starting docker-registry on $REGISTRY_ADDR"
  nohup docker-registry serve "$REGISTRY_DIR/config.yml" >/var/log/tutum-test-registry.log 2>&1 &
  for _ in $(seq 1 40); do registry_answers && break; sleep 0.25; done
  registry_answers || { log "docker-registry did not start; see /var/log/tutum-test-registry.log"; exit 1; }
fi

# Local test images, built from busybox-static since nothing can be pulled.
build_busybox_image() {
  local tag=$1
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/www" "$dir/tmp" "$dir/etc"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in sh httpd sleep echo cat env ls ps kill true false wget hostname printenv; do
    ln -s busybox "$dir/bin/$applet"
  done
  echo 'hello from tutumserver' > "$dir/www/index.html"
  echo 'root:x:0:0:root:/:/bin/sh' > "$dir/etc/passwd"
  tar -C "$dir" -cf "$dir.tar" .
  docker import \
    -c 'CMD ["/bin/sh"]' \
    -c 'ENV PATH=/bin' \
    "$dir.tar" "$tag" >/dev/null
  rm -rf "$dir" "$dir.tar"
}
if ! docker image inspect local/busybox:latest >/dev/null 2>&1; then
  log "building local/busybox:latest"
  build_busybox_image local/busybox:latest
fi
if ! docker image inspect local/httpd:latest >/dev/null 2>&1; then
  log "building local/httpd:latest"
  cid=$(docker create local/busybox:latest true)
  docker commit \
    -c 'CMD ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]' \
    -c 'EXPOSE 80/tcp' \
    -c 'ENV SERVER=busybox-httpd' \
    -a 'tutumserver tests <tests@example.com>' \
    "$cid" local/httpd:latest >/dev/null
  docker rm "$cid" >/dev/null
fi
log "ready: postgres, redis, docker, registry, images"
