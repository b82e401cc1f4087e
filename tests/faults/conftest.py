"""The Labelbox fixtures (a respx router with the fake Labelbox on it, a recording sleep)
for the fault tests that use them."""

from tests.labelbox.conftest import fake, router, sleep  # noqa: F401 - pytest fixtures
