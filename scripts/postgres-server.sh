#!/usr/bin/env bash
# A throwaway PostgreSQL server for the workspace tests (tests/store, tests/sync).
#
#   eval "$(scripts/postgres-server.sh start)"   # prints: export BRIDGE_TEST_POSTGRES=postgresql://...
#   scripts/postgres-server.sh stop
#
# Installs Debian's postgresql with apt-get when no initdb is found, then initialises a
# cluster in ${BRIDGE_PG_HOME:-/tmp/label-bridge-postgres} (a superuser `bridge` with a
# password, host connections by scram-sha-256) and starts it on 127.0.0.1 on a free port
# (or ${BRIDGE_PG_PORT}). PostgreSQL refuses to run as root: as root the cluster belongs
# to the `postgres` system user (created by the Debian package) and runs as that user.
# Everything but the final `export` line goes to stderr, so the output can be eval'ed.
set -euo pipefail

PG_HOME=${BRIDGE_PG_HOME:-/tmp/label-bridge-postgres}
DATA=$PG_HOME/data
PG_USER=bridge
PG_PASSWORD=bridge-test-password
PG_DB=bridge_test

log() { printf '[postgres-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_bindir() {
	local dir
	if command -v pg_config >/dev/null 2>&1; then
		dir=$(pg_config --bindir 2>/dev/null || true)
		if [[ -x $dir/initdb ]]; then echo "$dir"; return 0; fi
	fi
	# Debian keeps the server binaries out of PATH: take the newest installed version
	for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then echo "$dir"; return 0; fi
	done
	if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return 0; fi
	return 1
}

install_postgres() {
	log "no PostgreSQL server found: installing Debian's postgresql with apt-get"
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
}

# run a command as the cluster's owner (postgres when we are root)
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
		local quoted
		printf -v quoted '%q ' "$@"
		su postgres -s /bin/sh -c "$quoted"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
	local bindir
	bindir=$(find_bindir) || { install_postgres; bindir=$(find_bindir) || die "initdb not found after installing postgresql"; }
	log "using $bindir"
	mkdir -p "$PG_HOME"
	[[ $(id -u) -ne 0 ]] || chown postgres: "$PG_HOME"
	if [[ -f $DATA/postmaster.pid ]] && as_owner "$bindir/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
		log "already running"
	else
		if [[ ! -f $DATA/PG_VERSION ]]; then
			local pwfile=$PG_HOME/pwfile
			printf '%s\n' "$PG_PASSWORD" >"$pwfile"
			[[ $(id -u) -ne 0 ]] || chown postgres: "$pwfile"
			as_owner "$bindir/initdb" -D "$DATA" -U "$PG_USER" --pwfile="$pwfile" \
				--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2 ||
				as_owner "$bindir/initdb" -D "$DATA" -U "$PG_USER" --pwfile="$pwfile" \
					--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >&2
			rm -f "$pwfile"
		fi
		local port=${BRIDGE_PG_PORT:-$(free_port)}
		echo "$port" >"$PG_HOME/port"
		as_owner "$bindir/pg_ctl" -D "$DATA" -l "$PG_HOME/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PG_HOME -c fsync=off -c max_connections=200" \
			start >&2 || { cat "$PG_HOME/server.log" >&2; die "the server did not start"; }
	fi
	local port
	port=$(cat "$PG_HOME/port")
	if ! PGPASSWORD=$PG_PASSWORD "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
		PGPASSWORD=$PG_PASSWORD "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres -qc \
			"CREATE DATABASE $PG_DB" >&2
	fi
	log "PostgreSQL on 127.0.0.1:$port (data in $DATA)"
	echo "export BRIDGE_TEST_POSTGRES=postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$port/$PG_DB"
}

stop() {
	local bindir
	bindir=$(find_bindir) || die "no PostgreSQL found"
	if [[ -f $DATA/PG_VERSION ]]; then
		as_owner "$bindir/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
	fi
}

case ${1:-start} in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop" ;;
esac
