"""The workspace's tables (SQLAlchemy 2.x declarative models). Every table name starts
with `bridge_`, so a PostgreSQL database can hold a workspace beside other tables.

* `bridge_meta`: key/value facts about the workspace (`schema_version`, `created_by`,
  `created_at`); its presence is what makes a database a workspace.
* `bridge_sources`: each pulled source (name, tool, instance, project, location without
  credentials, the match rule it was pulled with, last pull time and counts).
* `bridge_projects`: each source's unified project (ontology) as JSON, with its hash.
* `bridge_items`: one row per workspace item: its stable `item_id`, the `match` value,
  the unified item JSON *without* its annotation sets (as its owner source last gave it),
  its content hash and the tombstone flag (`deleted`: no source holds it any more).
* `bridge_item_sources`: which sources hold which item (the key there, hash, tombstone).
* `bridge_sets`: annotation sets: stable `set_id`, item, source, the set's id in the
  source (`source_key`), its position in the item, unified JSON, content hash, tombstone.
* `bridge_links`: per target (tool, instance, project) and kind, element id -> remote id,
  hash last sent/seen, extra JSON.
* `bridge_syncs`: one row per finished push/sync to a target, with its summary JSON.
* `bridge_locks`: who holds the lock of a target (pid, host, since).

JSON is stored as text (compact, written and read with orjson).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1
"""The workspace schema this code reads and writes (`bridge_meta.schema_version`)."""


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "bridge_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Source(Base):
    __tablename__ = "bridge_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    tool: Mapped[str | None] = mapped_column(String(64))
    instance: Mapped[str | None] = mapped_column(Text)
    project: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    match_rule: Mapped[str] = mapped_column(Text, default="key")
    last_pull: Mapped[float | None] = mapped_column(Float)
    pulls: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[str] = mapped_column(Text, default="{}")


class StoredProject(Base):
    __tablename__ = "bridge_projects"
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id"), primary_key=True)
    json: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)


class StoredItemRow(Base):
    __tablename__ = "bridge_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(32), unique=True)
    match: Mapped[str] = mapped_column(Text, unique=True)
    key: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id"))
    json: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[float] = mapped_column(Float)


class ItemSource(Base):
    __tablename__ = "bridge_item_sources"
    item_row: Mapped[int] = mapped_column(ForeignKey("bridge_items.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id"), primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (Index("ix_bridge_item_sources_source", "source_id"),)


class StoredSetRow(Base):
    __tablename__ = "bridge_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(String(32), unique=True)
    item_row: Mapped[int] = mapped_column(ForeignKey("bridge_items.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("bridge_sources.id"))
    source_key: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    json: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        UniqueConstraint("item_row", "source_id", "source_key", name="uq_bridge_sets_source"),
        Index("ix_bridge_sets_source", "source_id"),
    )


class LinkRow(Base):
    __tablename__ = "bridge_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    element_id: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str] = mapped_column(Text)
    hash: Mapped[str | None] = mapped_column(String(64))
    extra: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[float] = mapped_column(Float)
    __table_args__ = (
        UniqueConstraint("target", "kind", "element_id", name="uq_bridge_links_element"),
    )


class SyncRow(Base):
    __tablename__ = "bridge_syncs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target: Mapped[str] = mapped_column(Text)
    tool: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(Text)
    project: Mapped[str | None] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_bridge_syncs_target", "target"),)


class LockRow(Base):
    __tablename__ = "bridge_locks"
    target: Mapped[str] = mapped_column(Text, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(Text)
    since: Mapped[float] = mapped_column(Float)


meta = cast(Table, Meta.__table__)
sources = cast(Table, Source.__table__)
projects = cast(Table, StoredProject.__table__)
items = cast(Table, StoredItemRow.__table__)
item_sources = cast(Table, ItemSource.__table__)
sets = cast(Table, StoredSetRow.__table__)
links = cast(Table, LinkRow.__table__)
syncs = cast(Table, SyncRow.__table__)
locks = cast(Table, LockRow.__table__)
