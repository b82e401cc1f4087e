"""Every test here sees the export formats (voc, conll, parquet) registered; `cli` runs
the bridge command in this process."""

import pytest

from tests.export.formats import cli, ensure_export_formats

__all__ = ["cli"]


@pytest.fixture(autouse=True)
def export_formats():
    ensure_export_formats()
