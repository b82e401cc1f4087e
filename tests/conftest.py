"""Settings shared by the whole suite.

Hypothesis runs without a per-example deadline: CI machines are shared and slow at times,
and a test must fail on behaviour, never on timing. Its health check for slow data
generation is relaxed for the same reason. Under CI (`CI` set) the examples are
derandomized, so a run is repeatable; on a developer's machine every run explores new
inputs (and a failure prints the blob to reproduce it)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "label-bridge",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("label-bridge")
