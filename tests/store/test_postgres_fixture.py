"""The PostgreSQL variants skip with a clear message when no server is configured, but
under CI a missing server is a failure (CI must test PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_PG_TEST = "tests/store/test_store_api.py::test_syncs_and_summary[postgresql]"


def run_pytest(**env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("BRIDGE_TEST_POSTGRES", "CI")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_PG_TEST, "-q", "-rs", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def test_without_a_server_outside_ci_the_postgresql_variant_skips_saying_how():
    done = run_pytest()
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "BRIDGE_TEST_POSTGRES is not set" in done.stdout
    assert "scripts/postgres-server.sh start" in done.stdout


def test_without_a_server_under_ci_the_postgresql_variant_fails():
    done = run_pytest(CI="true")
    assert done.returncode == 1, done.stdout
    assert "required under CI" in done.stdout
