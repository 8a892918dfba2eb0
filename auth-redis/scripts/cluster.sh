#!/bin/sh
# A three-master Redis Cluster on loopback ports, for the auth-redis tests in CI.
#
#   auth-redis/scripts/cluster.sh start   start it; prints REDIS_CLUSTER_URLS=...
#   auth-redis/scripts/cluster.sh stop    stop it and remove its files
#   auth-redis/scripts/cluster.sh urls    print the node URLs
#
# In CI:
#   export "$(auth-redis/scripts/cluster.sh start)"
#   cargo test -p auth-redis --all-features
#   auth-redis/scripts/cluster.sh stop
#
# Without REDIS_CLUSTER_URLS the tests start (and stop) a cluster of their own, so this
# script is optional. Environment: CLUSTER_PORTS (default "7001 7002 7003", at least three),
# CLUSTER_DIR (default ${TMPDIR:-/tmp}/auth-redis-cluster).
set -eu

ports=${CLUSTER_PORTS:-"7001 7002 7003"}
dir=${CLUSTER_DIR:-"${TMPDIR:-/tmp}/auth-redis-cluster"}

urls() {
    sep=""
    for port in $ports; do
        printf '%sredis://127.0.0.1:%s' "$sep" "$port"
        sep=","
    done
    printf '\n'
}

wait_for() { # wait_for <port> <what> <command...>: retries the command for ten seconds
    port=$1 what=$2
    shift 2
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -ge 200 ]; then
            echo "cluster.sh: node $port: $what (see $dir/redis-$port.log)" >&2
            exit 1
        fi
        sleep 0.05
    done
}

cluster_ok() {
    redis-cli -p "$1" cluster info | grep -q '^cluster_state:ok'
}

case "${1:-}" in
start)
    mkdir -p "$dir"
    for port in $ports; do
        rm -f "$dir/nodes-$port.conf"
        redis-server --port "$port" --bind 127.0.0.1 \
            --cluster-enabled yes --cluster-config-file "nodes-$port.conf" \
            --cluster-node-timeout 5000 --dir "$dir" --save '' --appendonly no \
            --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
    done
    for port in $ports; do
        wait_for "$port" "did not start" redis-cli -p "$port" ping
    done
    set --
    for port in $ports; do
        set -- "$@" "127.0.0.1:$port"
    done
    redis-cli --cluster create "$@" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
    for port in $ports; do
        wait_for "$port" "no cluster_state:ok" cluster_ok "$port"
    done
    echo "REDIS_CLUSTER_URLS=$(urls)"
    ;;
stop)
    for port in $ports; do
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done
    rm -rf "$dir"
    ;;
urls)
    urls
    ;;
*)
    echo "usage: $0 start|stop|urls" >&2
    exit 2
    ;;
esac
