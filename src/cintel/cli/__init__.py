"""The ``cintel`` command: thin commands over the library functions of the same names.

One module per group of commands (``run``, ``signals``, ``catalog``, ``stats``,
``service``, ``api_keys``, ``events``, ``webhooks``, ``search``, ``duplicates``), all
over ``common``; ``app`` registers them on the root Typer app and holds ``main``, the
console script's entry point. ``reference`` generates the reference docs.

This package re-exports ``app`` (the Typer app, which here shadows the ``cintel.cli.app``
module's name; import from that module with ``from cintel.cli.app import ...``) and
``main``.
"""

from __future__ import annotations

from cintel.cli.app import app, main

__all__ = ["app", "main"]
