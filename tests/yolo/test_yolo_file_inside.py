"""`file_inside`, the per-image label path: one path component below its directory, or a
ConfigError (never a path that leaves the output)."""

from __future__ import annotations

import pytest
from bridge_yolo.layout import file_inside

from bridge.errors import ConfigError


def test_a_safe_name_is_joined_below_its_directory():
    assert file_inside("/out/labels/train", "img-2.txt") == "/out/labels/train/img-2.txt"


@pytest.mark.parametrize("name", ["", ".", "..", "../x.txt", "a/b.txt", "/etc/passwd", "a\0.txt"])
def test_a_name_that_is_not_one_component_is_refused(name):
    with pytest.raises(ConfigError):
        file_inside("/out/labels/train", name)
