"""The first workspace schema (schema_version 1): meta, sources, projects, items and the
sources holding them, annotation sets, links, syncs and locks.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bridge_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "bridge_sources",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("tool", sa.String(64)),
        sa.Column("instance", sa.Text),
        sa.Column("project", sa.Text),
        sa.Column("location", sa.Text),
        sa.Column("match_rule", sa.Text, nullable=False),
        sa.Column("last_pull", sa.Float),
        sa.Column("pulls", sa.Integer, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
    )
    op.create_table(
        "bridge_projects",
        sa.Column("source_id", sa.Integer, sa.ForeignKey("bridge_sources.id"), primary_key=True),
        sa.Column("json", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "bridge_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(32), nullable=False, unique=True),
        sa.Column("match", sa.Text, nullable=False, unique=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("bridge_sources.id"), nullable=False),
        sa.Column("json", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "bridge_item_sources",
        sa.Column("item_row", sa.Integer, sa.ForeignKey("bridge_items.id"), primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("bridge_sources.id"), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_bridge_item_sources_source", "bridge_item_sources", ["source_id"])
    op.create_table(
        "bridge_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("set_id", sa.String(32), nullable=False, unique=True),
        sa.Column("item_row", sa.Integer, sa.ForeignKey("bridge_items.id"), nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("bridge_sources.id"), nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("json", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("item_row", "source_id", "source_key", name="uq_bridge_sets_source"),
    )
    op.create_index("ix_bridge_sets_source", "bridge_sets", ["source_id"])
    op.create_table(
        "bridge_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("element_id", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.Text, nullable=False),
        sa.Column("hash", sa.String(64)),
        sa.Column("extra", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("target", "kind", "element_id", name="uq_bridge_links_element"),
    )
    op.create_table(
        "bridge_syncs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("instance", sa.Text, nullable=False),
        sa.Column("project", sa.Text),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
    )
    op.create_index("ix_bridge_syncs_target", "bridge_syncs", ["target"])
    op.create_table(
        "bridge_locks",
        sa.Column("target", sa.Text, primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
    )
    op.bulk_insert(
        sa.table("bridge_meta", sa.column("key", sa.String), sa.column("value", sa.Text)),
        [{"key": "schema_version", "value": "1"}],
    )


def downgrade() -> None:
    for table in (
        "bridge_locks",
        "bridge_syncs",
        "bridge_links",
        "bridge_sets",
        "bridge_item_sources",
        "bridge_items",
        "bridge_projects",
        "bridge_sources",
        "bridge_meta",
    ):
        op.drop_table(table)
