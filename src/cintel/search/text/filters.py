"""Search filters as SQL: conditions on a tenant's ``contents`` row and its facets."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from cintel.search.text.schemas import SearchFilters
from cintel.store import schema


def _facet(name: str, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    f = schema.facets.c
    return sa.exists().where(f.content_id == schema.contents.c.id, f.name == name, *conditions)


def content_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """Conditions on ``contents`` (joined in the query) that the filters ask for."""
    c, f = schema.contents.c, schema.facets.c
    where: list[ColumnElement[bool]] = []
    if filters.kind:
        where.append(c.kind.in_([k.value for k in filters.kind]))
    if filters.show is not None:
        where.append(c.show == filters.show)
    if filters.author is not None:
        where.append(c.author == filters.author)
    if filters.published_from is not None:
        where.append(c.published >= filters.published_from)
    if filters.published_to is not None:
        where.append(c.published <= filters.published_to)
    if filters.language:
        where.append(_facet("language", f.value == filters.language.strip().casefold()))
    if filters.explicit is not None:
        where.append(_facet("explicit", f.value == ("true" if filters.explicit else "false")))
    if filters.topic:
        where.append(_facet("topic", f.value == filters.topic.strip().casefold()))
    if filters.min_duration_s is not None or filters.max_duration_s is not None:
        bounds: list[ColumnElement[bool]] = []
        if filters.min_duration_s is not None:
            bounds.append(f.number >= filters.min_duration_s)
        if filters.max_duration_s is not None:
            bounds.append(f.number <= filters.max_duration_s)
        where.append(_facet("duration", *bounds))
    return where


def joined_segments(tenant: str) -> sa.Join:
    """``segments`` joined to the tenant's ``contents``: rows of other tenants drop out."""
    c, s = schema.contents.c, schema.segments.c
    return schema.segments.join(schema.contents, sa.and_(c.tenant == tenant, c.id == s.content_id))
