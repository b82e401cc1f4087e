"""`ItemRecords`: items a reader streams as plain records, written by the JSONL writer
without pydantic; the file must read back as exactly the validated items."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge import api
from bridge.errors import ConfigError
from bridge.formats import Dataset, ItemRecords
from bridge.formats.jsonl import UnifiedJsonl, read_jsonl, write_jsonl
from bridge.losses import LossReport
from bridge.schema import Item, Project

from .strategies import items

PROJECT = Project(name="p")


def records_of(models: list[Item], *, keep_defaults: bool = False) -> ItemRecords:
    """A stream whose records are the models' JSON data (with or without the defaults)."""

    def produce(validate: bool):
        for model in models:
            record = model.model_dump(mode="json", exclude_defaults=not keep_defaults)
            yield Item.model_validate(record) if validate else record

    return ItemRecords(produce)


@settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(items, max_size=4), st.booleans())
def test_records_written_as_they_are_read_back_as_the_items(tmp_path, generated, keep_defaults):
    path = tmp_path / "out.jsonl"
    assert write_jsonl(
        Dataset(PROJECT, records_of(generated, keep_defaults=keep_defaults)), path
    ) == len(generated)
    assert list(read_jsonl(path).items) == generated


def test_the_writer_takes_records_not_models_unless_told_to_validate(tmp_path):
    asked = []

    def produce(validate: bool):
        asked.append(validate)
        record = {"key": "a", "media": {"kind": "image"}, "data": {"n": 1}}
        yield Item.model_validate(record) if validate else record

    write_jsonl(Dataset(PROJECT, ItemRecords(produce)), tmp_path / "fast.jsonl")
    UnifiedJsonl().write(
        Dataset(PROJECT, ItemRecords(produce)),
        tmp_path / "slow.jsonl",
        LossReport(),
        validate="yes",
    )
    assert asked == [False, True]
    assert list(read_jsonl(tmp_path / "fast.jsonl").items) == list(
        read_jsonl(tmp_path / "slow.jsonl").items
    )


def test_a_record_with_an_integer_beyond_64_bits_is_written_exactly(tmp_path):
    huge = 2**70 + 1
    record = {"key": "a", "media": {"kind": "image"}, "data": {"n": huge}}
    write_jsonl(
        Dataset(PROJECT, ItemRecords(lambda validate: iter([record]))), tmp_path / "o.jsonl"
    )
    assert next(iter(read_jsonl(tmp_path / "o.jsonl").items)).data["n"] == huge


def test_an_invalid_record_is_refused_when_validating(tmp_path):
    bad = {"key": "a", "media": {"kind": "not-a-kind"}}
    stream = ItemRecords(
        lambda validate: (Item.model_validate(bad) if validate else bad for _ in [0])
    )
    with pytest.raises(ValidationError):
        write_jsonl(Dataset(PROJECT, stream), tmp_path / "o.jsonl", validate=True)
    assert not (tmp_path / "o.jsonl").exists()


def test_validate_option_must_be_a_yes_or_no(tmp_path):
    with pytest.raises(ConfigError, match="validate must be true or false"):
        UnifiedJsonl().write(
            Dataset(PROJECT, iter([])), tmp_path / "o.jsonl", LossReport(), validate="maybe"
        )


def test_iterating_records_gives_items_and_wrapping_keeps_both_ways():
    model = Item(key="a", media={"kind": "image"})
    assert list(records_of([model])) == [model]
    seen = []
    as_records = records_of([model]).wrapped(lambda inner: api.counted(inner, seen.append))
    assert list(as_records.records()) == [{"key": "a", "media": {"kind": "image"}}]
    as_items = records_of([model]).wrapped(lambda inner: api.counted(inner, seen.append))
    assert list(as_items) == [model]
    assert seen == [1, 1]


def test_transfer_counts_progress_on_a_record_stream_and_keeps_it_fast(tmp_path, monkeypatch):
    models = [Item(key=f"k{i}", media={"kind": "image"}) for i in range(3)]
    dumped = []
    real = Item.model_dump_json

    def spy(self, **kwargs):
        dumped.append(self.key)
        return real(self, **kwargs)

    monkeypatch.setattr(Item, "model_dump_json", spy)
    monkeypatch.setattr(api, "open_dataset", lambda *a, **k: Dataset(PROJECT, records_of(models)))
    progress = []
    api.transfer("in.anything", tmp_path / "out.jsonl", on_item=progress.append)
    assert progress == [1, 2, 3]
    assert dumped == []  # the records were written by orjson, no model was dumped
    assert list(read_jsonl(tmp_path / "out.jsonl").items) == models


def test_the_stream_runs_once_like_a_generator():
    models = [Item(key=k, media={"kind": "image"}) for k in "abc"]
    stream = records_of(models)
    assert next(stream) == models[0]  # an iterator, like the generators readers returned
    assert next(iter(stream)) == models[1]
    assert list(stream) == models[2:]  # goes on where it stopped
    with pytest.raises(RuntimeError, match="already started as items"):
        stream.records()
