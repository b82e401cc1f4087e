"""Labelbox projects: listing them, reading one, and reading its ontology."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bridge.errors import FormatError, NotFoundError, RemoteError
from bridge_labelbox import graphql as gql
from bridge_labelbox.client import LabelboxClient


def list_projects(client: LabelboxClient) -> Iterator[dict[str, Any]]:
    """Every project visible to the key (pages of 100 until a short page); a page of
    projects already listed (the server ignores `skip`) is a `RemoteError`."""
    skip = 0
    seen: set[tuple] = set()
    while True:
        data = client.execute(gql.list_projects_query(skip), {"deleted": False})
        page = gql.dig(data, "projects", where="projects", expect=list, optional=True) or []
        projects = [gql.expect_object(project, "projects") for project in page]
        ids = tuple(str(project.get("id")) for project in projects)
        if ids and ids in seen:
            raise RemoteError(
                f"Labelbox sent the same page of projects again (skip {skip}); stopped "
                "instead of listing forever",
                where="projects",
            )
        seen.add(ids)
        yield from projects
        if len(page) < gql.PAGE_SIZE:
            return
        skip += gql.PAGE_SIZE


def get_project(client: LabelboxClient, project_id: str) -> dict[str, Any]:
    """The project's fields; `NotFoundError` if it does not exist."""
    data = client.execute(gql.GET_PROJECT, {"projectId": project_id})
    project = gql.dig(data, "project", where=f"project {project_id}", optional=True)
    if not project:
        raise NotFoundError(f"Labelbox has no project {project_id}", where=f"project {project_id}")
    return project


def project_ontology(client: LabelboxClient, project_id: str) -> dict[str, Any]:
    """The project's ontology as Labelbox's "normalized" JSON (`tools`, `classifications`)."""
    data = client.execute(gql.GET_PROJECT_ONTOLOGY, {"projectId": project_id})
    where = f"project {project_id}"
    if not gql.dig(data, "project", where=where, optional=True):
        raise NotFoundError(f"Labelbox has no project {project_id}", where=where)
    ontology = gql.dig(data, "project", "ontology", where=where, optional=True) or {}
    normalized = (
        gql.dig(ontology, "normalized", where=where, expect=(dict, str), optional=True) or {}
    )
    return _normalized_object(normalized, where)


def _normalized_object(normalized: dict | str, where: str) -> dict[str, Any]:
    """The ontology's `normalized` field as an object (Labelbox may send it as JSON text)."""
    if isinstance(normalized, str):
        try:
            normalized = json.loads(normalized)
        except ValueError:
            raise FormatError("ontology `normalized` is not JSON", where=where) from None
    if not isinstance(normalized, dict):
        raise FormatError("ontology `normalized` is not an object", where=where)
    return normalized
