"""What a push wants on its target, as ids and hashes only (no item JSON decoded): the fast
path of planning when every set goes (`--sets all`), which is what makes a no-change rerun
cheap. It reads the workspace's item and set rows (`bridge.store.models`) directly; any
other selector needs the sets' content and goes through `Workspace.iter_items`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridge.sync.plan import DesiredItem, DesiredSet


def desired_all(
    ws: Any, sources: list[str] | None, transform: Any = None
) -> list[DesiredItem] | None:
    """Every live item (of `sources`, or all) with every live set of those sources, as
    `DesiredItem`s; None when `ws` is not a `bridge.store.Workspace` (then the caller takes
    the slow path). `transform(hash)` maps set hashes (e.g. `--as predictions`)."""
    from bridge.store import Workspace, models

    if not isinstance(ws, Workspace):
        return None
    names = ws._source_ids(sources)
    it, its, st = models.items, models.item_sources, models.sets
    query = select(it.c.id, it.c.item_id, it.c.hash).where(it.c.deleted.is_(False))
    if sources is not None:
        held = select(its.c.item_row).where(
            its.c.source_id.in_(list(names)), its.c.deleted.is_(False)
        )
        query = query.where(it.c.id.in_(held))
    set_query = (
        select(st.c.item_row, st.c.set_id, st.c.hash)
        .where(st.c.deleted.is_(False), st.c.source_id.in_(list(names)))
        .order_by(st.c.item_row, st.c.source_id, st.c.position)
    )
    sets_of: dict[int, list[DesiredSet]] = {}
    with ws.engine.connect() as conn:
        for row in conn.execute(set_query):
            set_hash = transform(row.hash) if transform is not None else row.hash
            sets_of.setdefault(row.item_row, []).append(DesiredSet(row.set_id, set_hash))
        return [
            DesiredItem(row.item_id, row.hash, tuple(sets_of.get(row.id, ())))
            for row in conn.execute(query.order_by(it.c.id))
        ]
