# Redis servers for the tests, sourced by .ci/run: a plaintext server, a
# TLS server (certificates made here with openssl) and a cluster of 3
# masters and 3 replicas, all on free loopback ports, all stopped by
# `stop_redis` (run it on exit).

redis_dir=$(mktemp -d)

install_redis() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v openssl >/dev/null || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return
  export DEBIAN_FRONTEND=noninteractive
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A free loopback port above $1 (and, with a second argument, its cluster
# bus port + 10000 free too).
free_port() {
  local candidate
  for candidate in $(seq "$1" $(($1 + 400))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      if [ -z "${2:-}" ] || ! (exec 3<>"/dev/tcp/127.0.0.1/$((candidate + 10000))") 2>/dev/null; then
        echo "$candidate"
        return
      fi
    fi
  done
  echo "no free port above $1" >&2
  return 1
}

# start_server NAME PING-ARGS... -- SERVER-ARGS...: a daemon in a
# directory of its own, answering PING within 5 s.
start_server() {
  local name=$1
  shift
  local ping=()
  while [ "$1" != "--" ]; do
    ping+=("$1")
    shift
  done
  shift
  mkdir -p "$redis_dir/$name"
  redis-server --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$redis_dir/$name" --daemonize yes --pidfile "$redis_dir/$name/pid" \
    --logfile "$redis_dir/$name/log" "$@"
  for _ in $(seq 50); do
    redis-cli "${ping[@]}" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  cat "$redis_dir/$name/log" >&2
  return 1
}

# Sets REDIS_URL.
start_plain() {
  local port
  port=$(free_port 16379)
  start_server plain -p "$port" -- --port "$port"
  REDIS_URL="redis://127.0.0.1:$port/"
}

# Sets TLS_URL and TLS_CA_FILE (a CA of this run's, and a server
# certificate it signed for 127.0.0.1).
start_tls() {
  local port pki=$redis_dir/pki
  port=$(free_port 17379)
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=limits-ci-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    >"$pki/server.ext"
  openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$pki/server.ext" -out "$pki/server.crt" 2>/dev/null
  start_server tls -p "$port" --tls --cacert "$pki/ca.crt" -- \
    --port 0 --tls-port "$port" --tls-cert-file "$pki/server.crt" \
    --tls-key-file "$pki/server.key" --tls-ca-cert-file "$pki/ca.crt" --tls-auth-clients no
  TLS_URL="rediss://127.0.0.1:$port/"
  TLS_CA_FILE="$pki/ca.crt"
}

# Sets CLUSTER_URLS (every node, separated by commas: the seeds).
start_cluster() {
  local port=18379 ports=() nodes=() urls=()
  for _ in 1 2 3 4 5 6; do
    port=$(free_port "$port" bus)
    ports+=("$port")
    start_server "node-$port" -p "$port" -- --port "$port" --cluster-enabled yes \
      --cluster-node-timeout 2000 --repl-diskless-sync-delay 0
    nodes+=("127.0.0.1:$port")
    urls+=("redis://127.0.0.1:$port/")
    port=$((port + 1))
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
  for port in "${ports[@]}"; do
    for _ in $(seq 300); do
      redis-cli -p "$port" cluster info | grep -q cluster_state:ok && break
      sleep 0.1
    done
    redis-cli -p "$port" cluster info | grep -q cluster_state:ok || {
      echo "the cluster did not come up" >&2
      return 1
    }
  done
  CLUSTER_URLS=$(IFS=,; echo "${urls[*]}")
}

stop_redis() {
  local pidfile pids=()
  for pidfile in "$redis_dir"/*/pid; do
    [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    # A master may wait for its replicas before it exits: 5 s, then KILL.
    for _ in $(seq 50); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$redis_dir"
}
