"""Parquet files: the Arrow schema, a streaming writer and a batch-wise reader.

The writer keeps at most `-O row_group_size=N` rows (default 10,000) in memory: rows are
buffered and written as one row group with `pyarrow.parquet.ParquetWriter` each time the
buffer fills, so memory does not grow with the dataset. The file is written atomically
(`bridge.io.atomic_write`). The reader streams record batches back into items; it expects
an item's rows together, as the writer writes them.

pyarrow is an optional dependency (`pip install 'label-bridge[parquet]'`); it is imported
when a Parquet file is read or written, never at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from bridge.errors import ConfigError, FormatError
from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.io import atomic_write
from bridge.losses import LossReport
from bridge.options import integer_option
from bridge.schema import Item, LabelClass, MediaKind, Project, RegionKind
from bridge_parquet.convert import COLUMNS, item_rows, items_from_rows

DEFAULT_ROW_GROUP = 10_000
MAGIC = b"PAR1"


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError(
            "Parquet needs pyarrow, which is not installed",
            hint="pip install 'label-bridge[parquet]'",
        ) from None
    return pyarrow


def arrow_schema() -> Any:
    """The table's Arrow schema (column order as in `bridge_parquet.convert.COLUMNS`)."""
    pa = _pyarrow()
    answers = pa.list_(pa.struct([("name", pa.string()), ("answers", pa.list_(pa.string()))]))
    moment = pa.timestamp("us", tz="UTC")
    types = {
        "media_width": pa.int32(),
        "media_height": pa.int32(),
        "ground_truth": pa.bool_(),
        "created_at": moment,
        "updated_at": moment,
        "lead_time": pa.float64(),
        "set_classifications": answers,
        "bbox_x": pa.float64(),
        "bbox_y": pa.float64(),
        "bbox_w": pa.float64(),
        "bbox_h": pa.float64(),
        "rotation": pa.float64(),
        "score": pa.float64(),
        "frame": pa.int64(),
        "occluded": pa.bool_(),
        "outside": pa.bool_(),
        "keyframe": pa.bool_(),
        "z_order": pa.int64(),
        "classifications": answers,
        "track_classifications": answers,
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


def write_parquet(dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> int:
    """Write one row per region (see `bridge_parquet.convert`); return the rows written."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    group = integer_option(options, "row_group_size", DEFAULT_ROW_GROUP, minimum=1)
    schema = arrow_schema()
    written = 0
    with atomic_write(path) as out:
        writer = pq.ParquetWriter(out, schema, compression="zstd")
        buffer: list[dict[str, Any]] = []

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(buffer, schema=schema), row_group_size=group)
            buffer.clear()

        try:
            for item in dataset.items:
                for row in item_rows(item, losses):
                    buffer.append(row)
                    if len(buffer) >= group:
                        written += len(buffer)
                        flush()
            written += len(buffer)
            if buffer or written == 0:
                flush()
        finally:
            writer.close()
    return written


def read_parquet(path: Path, *, batch_size: int = DEFAULT_ROW_GROUP) -> Dataset:
    """Open a Parquet file written by `write_parquet`: rows are read batch by batch."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:  # not Parquet, or truncated
        raise FormatError(f"not a readable Parquet file ({error})", where=str(path)) from None
    missing = [name for name in ("item_key", "media_kind") if name not in source.schema_arrow.names]
    if missing:
        raise FormatError(
            f"no {', '.join(missing)} column",
            where=str(path),
            hint="this reader takes the one-row-per-region tables label-bridge writes",
        )
    project = Project(name=path.stem or "parquet")
    known: set[str] = set()

    def rows() -> Iterator[dict[str, Any]]:
        for batch in source.iter_batches(batch_size=batch_size):
            yield from batch.to_pylist()

    def items() -> Iterator[Item]:
        for item in items_from_rows(rows(), str(path)):
            for aset in item.annotation_sets:
                for thing in (*aset.regions, *aset.tracks):
                    if thing.label is not None and thing.label not in known:
                        known.add(thing.label)
                        project.ontology.labels.append(LabelClass(name=thing.label))
            yield item

    return Dataset(project=project, items=items(), origin=str(path))


class ParquetFormat(FileFormat):
    name = "parquet"
    description = "Parquet table, one row per region (pyarrow; DuckDB, Spark, pandas)"
    capabilities = Capabilities(
        media=list(get_args(MediaKind)),  # every kind and every shape: a row holds any
        regions=list(get_args(RegionKind)),
        tracks=True,
        extensions=[".parquet"],
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_parquet(path)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_parquet(dataset, path, losses, **options)
