#!/usr/bin/env bash
# Install a private Label Studio server for the integration tests.
#
#   scripts/labelstudio-server.sh install
#
# Creates, under ${BRIDGE_LS_HOME:-$HOME/.cache/label-bridge/labelstudio-1.23.2}:
#   venv/      a venv holding only label-studio (kept apart from the project venv)
#   template/  an initialised data dir (DB, CI user, token, .env with SECRET_KEY);
#              tests/support/labelstudio_server.py copies it for every server it starts
# Every step is skipped when its marker file says it is already done.
# The credentials below must match tests/support/labelstudio_server.py.
set -euo pipefail

LS_VERSION=1.23.2
UV_VERSION=0.13.9
LS_HOME=${BRIDGE_LS_HOME:-$HOME/.cache/label-bridge/labelstudio-$LS_VERSION}
VENV=$LS_HOME/venv
TEMPLATE=$LS_HOME/template
BOOTSTRAP=$LS_HOME/bootstrap # tiny venv that only holds uv
CI_USERNAME=ci@example.com
CI_PASSWORD=ci-password-123
CI_TOKEN=ci0123456789abcdef0123456789abcdef

START=$SECONDS
log() { printf '[labelstudio-server] %s\n' "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# The real interpreter (not a pyenv shim), so that venvs point at something stable.
base_python() { python3 -c 'import sys; print(sys.executable)'; }

install_uv() {
	if [[ -x $BOOTSTRAP/bin/uv ]]; then return 0; fi
	log "installing uv==$UV_VERSION into $BOOTSTRAP"
	rm -rf "$BOOTSTRAP"
	"$(base_python)" -m venv "$BOOTSTRAP" &&
		"$BOOTSTRAP/bin/python" -m pip install -q "uv==$UV_VERSION"
}

install_venv() {
	local marker=$VENV/.label-bridge-installed
	if [[ -f $marker ]]; then
		log "venv ready: $VENV"
		return 0
	fi
	rm -rf "$VENV"
	log "installing label-studio==$LS_VERSION into $VENV"
	if install_uv &&
		"$BOOTSTRAP/bin/uv" venv -q --python "$(base_python)" "$VENV" &&
		"$BOOTSTRAP/bin/uv" pip install -q --python "$VENV/bin/python" "label-studio==$LS_VERSION"; then
		log "installed with uv ($((SECONDS - START)) s)"
	else
		log "uv failed; falling back to pip (takes ~2 min)"
		rm -rf "$VENV"
		"$(base_python)" -m venv "$VENV"
		"$VENV/bin/python" -m pip install -q "label-studio==$LS_VERSION"
	fi
	# Never `label-studio --version`: it starts a server on 0.0.0.0:8080.
	local got
	got=$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('label-studio'))")
	[[ $got == "$LS_VERSION" ]] || die "expected label-studio $LS_VERSION, got $got"
	log "precompiling .pyc files"
	# A few vendored files do not compile; that is harmless.
	"$VENV/bin/python" -m compileall -q -j 0 \
		"$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
		>/dev/null 2>&1 || true
	touch "$marker"
	log "venv ready: $VENV ($((SECONDS - START)) s)"
}

install_template() {
	local marker=$TEMPLATE/.label-bridge-initialised
	if [[ -f $marker ]]; then
		log "template ready: $TEMPLATE"
		return 0
	fi
	local tmp=$TEMPLATE.tmp
	rm -rf "$tmp" "$TEMPLATE"
	mkdir -p "$tmp"
	log "initialising template data dir (runs all migrations, ~25 s)"
	# Label Studio also reads bare USERNAME/PASSWORD/PORT/HOST/USER_TOKEN: drop them.
	if ! env -u USERNAME -u PASSWORD -u PORT -u HOST -u USER_TOKEN \
		LABEL_STUDIO_BASE_DATA_DIR="$tmp" \
		LABEL_STUDIO_USERNAME="$CI_USERNAME" \
		LABEL_STUDIO_PASSWORD="$CI_PASSWORD" \
		LABEL_STUDIO_USER_TOKEN="$CI_TOKEN" \
		LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
		LABEL_STUDIO_LATEST_VERSION_CHECK=false \
		LABEL_STUDIO_COLLECT_ANALYTICS=false \
		"$VENV/bin/label-studio" init -q --enable-legacy-api-token \
		</dev/null >"$LS_HOME/init.log" 2>&1; then
		tail -n 30 "$LS_HOME/init.log" >&2
		die "label-studio init failed (full log: $LS_HOME/init.log)"
	fi
	[[ -f $tmp/.env ]] || die "label-studio init did not write $tmp/.env"
	touch "$tmp/.label-bridge-initialised"
	mv "$tmp" "$TEMPLATE"
	log "template ready: $TEMPLATE ($((SECONDS - START)) s)"
}

case "${1:-}" in
install)
	mkdir -p "$LS_HOME"
	install_venv
	install_template
	log "done in $((SECONDS - START)) s"
	;;
*)
	echo "usage: $0 install" >&2
	exit 2
	;;
esac
