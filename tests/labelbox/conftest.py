"""Fixtures shared by the Labelbox API tests: a respx router, the fake Labelbox server on
it, and a sleep that records the waits instead of sleeping."""

import pytest
import respx

from .test_lb_api_fakes import FakeLabelbox, RecordingSleep


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def router():
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def fake(router):
    return FakeLabelbox(router)
