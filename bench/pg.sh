# Sourced by the issue-9 bench scripts: a throwaway PostgreSQL cluster on a free loopback port, in
# a temp directory, run as the unprivileged `postgres` user when we are root (PostgreSQL refuses
# root). Unlike the tests' cluster (fsync off), this one keeps PostgreSQL's durable defaults
# (fsync on, synchronous_commit on), so its commits cost what a real deployment's do;
# PG_SETTINGS adds lines to postgresql.conf (e.g. "synchronous_commit = off").
# pg_start sets PG_URL (a `latchkey` superuser, trust on loopback) and PG_DIR; pg_stop removes it.
# Binaries: LATCHKEY_PG_BIN, else the highest /usr/lib/postgresql/*/bin.

pg_bin() {
    if [ -n "${LATCHKEY_PG_BIN:-}" ]; then echo "$LATCHKEY_PG_BIN"; return; fi
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

pg_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    local bin port
    bin=$(pg_bin)
    [ -x "$bin/initdb" ] || { echo "no PostgreSQL binaries (apt-get install postgresql)" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/lk-bench-pg.XXXXXX)
    chmod 0755 "$PG_DIR"
    mkdir "$PG_DIR/socket"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_DIR"
    pg_as "$bin/initdb" -D "$PG_DIR/data" -A trust -U latchkey -E UTF8 --locale=C >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    {
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$PG_DIR/socket'"
        echo "max_connections = 200"
        echo "${PG_SETTINGS:-}"
    } | pg_as tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
    pg_as "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w start >/dev/null
    PG_URL="postgres://latchkey@127.0.0.1:$port/postgres"
    PG_POSTMASTER=$(head -1 "$PG_DIR/data/postmaster.pid")
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    pg_as "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
}

# The cluster's processes: the postmaster and its children (never another cluster's).
pg_pids() {
    echo "$PG_POSTMASTER"
    pgrep -P "$PG_POSTMASTER" || true
}

# CPU ticks (user + system) used so far by the cluster: its live processes, and (the
# postmaster's reaped-children fields) the backends that have exited.
pg_ticks() {
    local t p
    t=$(awk '{print $16 + $17}' "/proc/$PG_POSTMASTER/stat")
    for p in $(pg_pids); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
