"""Splits of an export: by the items' own subset, or by a seeded ratio.

`--split subset` keeps each item's `subset` ("train", "val"; items without one go to
`unassigned`). `--split train=0.8,val=0.1,test=0.1 --seed 0` draws each item's split from
a hash of its key and the seed: SHA-256 of `"<seed>\\0<key>"`, read as a number in [0, 1),
falls into one of the ratio's intervals (in the order given). The draw depends on nothing
else (not the item's position, not the other items), so re-exporting the same items with
the same seed gives every item the same split, and adding items never moves old ones.

`SplitSpool` sorts a stream of items into one temporary unified-JSONL file per split (on
the output's file system), so that a format without splits of its own can be written once
per split without holding the items in memory.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from bridge.errors import ConfigError
from bridge.export.staging import check_name
from bridge.formats.jsonl import item_line
from bridge.io import spool_beside
from bridge.schema import Item

BY_SUBSET = "subset"
UNASSIGNED = "unassigned"
"""The split of an item without a subset under `--split subset`."""
TOLERANCE = 1e-6
SPLIT_HINT = "--split subset, or --split train=0.8,val=0.1,test=0.1 (ratios summing to 1)"


@dataclass(frozen=True)
class SplitSpec:
    """A parsed `--split`: `ratios` is None for "by subset", else (name, share) pairs."""

    ratios: tuple[tuple[str, float], ...] | None
    seed: int = 0

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> SplitSpec:
        text = text.strip()
        if text == BY_SUBSET:
            return cls(None, seed)
        ratios: list[tuple[str, float]] = []
        for part in text.split(","):
            name, sep, value = (piece.strip() for piece in part.partition("="))
            try:
                share = float(value) if sep else math.nan
            except ValueError:
                share = math.nan
            if not math.isfinite(share) or share < 0:
                raise ConfigError(f"--split: {part.strip()!r} is not NAME=SHARE", hint=SPLIT_HINT)
            check_name(name, what="--split name")
            if name in (n for n, _ in ratios):
                raise ConfigError(f"--split names {name!r} twice", hint=SPLIT_HINT)
            ratios.append((name, share))
        total = sum(share for _, share in ratios)
        if abs(total - 1.0) > TOLERANCE:
            raise ConfigError(f"--split shares add up to {total:g}, not 1", hint=SPLIT_HINT)
        return cls(tuple(ratios), seed)

    def __str__(self) -> str:
        if self.ratios is None:
            return BY_SUBSET
        return ",".join(f"{name}={share:g}" for name, share in self.ratios)

    def draw(self, key: str) -> float:
        """The item's number in [0, 1): SHA-256 of seed and key."""
        digest = hashlib.sha256(f"{self.seed}\0{key}".encode("utf-8", "surrogateescape")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def assign(self, item: Item) -> str:
        """The split `item` goes to."""
        if self.ratios is None:
            return item.subset or UNASSIGNED
        number = self.draw(item.key)
        edge = 0.0
        for name, share in self.ratios:
            edge += share
            if number < edge:
                return name
        return self.ratios[-1][0]  # rounding at the top end of the last interval

    def apply(self, item: Item) -> tuple[str, Item]:
        """The split and the item with its `subset` set to it (by-subset: unchanged)."""
        split = self.assign(item)
        if self.ratios is None or item.subset == split:
            return split, item
        return split, item.model_copy(update={"subset": split})


class SplitSpool:
    """Items sorted into one temporary file per split (unified JSONL lines)."""

    def __init__(self, beside: str | os.PathLike[str]):
        self.beside = beside
        self.files: dict[str, IO[bytes]] = {}

    def add(self, split: str, item: Item) -> None:
        spool = self.files.get(split)
        if spool is None:
            spool = self.files[split] = spool_beside(self.beside)
        spool.write(item_line(item))

    def splits(self) -> list[str]:
        return sorted(self.files)

    def items(self, split: str) -> Iterator[Item]:
        """The items of `split`, read back one at a time."""
        spool = self.files[split]
        spool.flush()
        spool.seek(0)
        for line in spool:
            yield Item.model_validate_json(line)

    def close(self) -> None:
        for spool in self.files.values():
            spool.close()
        self.files.clear()
