"""Every test here sees the export formats (voc, conll, parquet) registered."""

import pytest

from tests.export.formats import ensure_export_formats


@pytest.fixture(autouse=True)
def export_formats():
    ensure_export_formats()
