"""``cintel keys``: create, list and revoke the API keys the HTTP service accepts.

Thin commands over ``cintel.server.api_keys`` (``create_key``, ``parse_scopes``) and the
store's key table; a key's secret is printed once, and only its hash is kept.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cintel.cli.common import (
    DataDirOpt,
    JsonOpt,
    StoreOpt,
    err,
    load_settings,
    moment,
    open_store,
    out,
    print_json,
    table,
)
from cintel.errors import CintelError

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant the key belongs to")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="read, write, admin, annotate, review (comma-separated)")
    ],
    name: Annotated[str, typer.Option("--name", help="what the key is for")] = "",
    rate: Annotated[
        int | None, typer.Option("--rate", help="requests a minute (default: server setting)")
    ] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; the key is printed once and only its hash is kept."""
    from cintel.server.api_keys import create_key, parse_scopes

    with open_store(load_settings(store, data_dir)) as st:
        record, token = create_key(st, tenant, parse_scopes(scopes), name, rate)
    if as_json:
        print_json({"id": record.id, "tenant": tenant, "scopes": record.scopes, "key": token})
        return
    err.print(
        f"key {record.id} for tenant {tenant!r} with scopes {', '.join(record.scopes)}; "
        "store it now, it is not shown again:",
        highlight=False,
    )
    sys.stdout.write(token + "\n")


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="only this tenant")] = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (never their secrets)."""
    with open_store(load_settings(store, data_dir)) as st:
        found = st.list_api_keys(tenant)
    if as_json:
        print_json([k.model_dump(mode="json", exclude={"secret_hash"}) for k in found])
        return
    rows = table("id", "tenant", "name", "scopes", "created", "last used", "revoked")
    for k in found:
        rows.add_row(
            k.id,
            k.tenant,
            k.name,
            ",".join(k.scopes),
            moment(k.created_at),
            moment(k.last_used_at),
            moment(k.revoked_at),
        )
    out.print(rows)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (the part after cintel_)")],
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke an API key; servers stop accepting it within seconds."""
    with open_store(load_settings(store, data_dir)) as st:
        if not st.revoke_api_key(key_id):
            raise CintelError(f"no live key {key_id!r}; see cintel keys list")
    err.print(f"revoked key {key_id}")
