"""What is installed: the analyzers, the built-in pipelines and the models analyzers load.

The library of ``cintel analyzers``, ``cintel pipelines`` and ``cintel models``: each
function returns JSON-ready rows (what the commands print with ``--json``).
"""

from __future__ import annotations

from typing import Any

from cintel.analyzers import registry
from cintel.model_registry import model_registry
from cintel.pipeline import builtin_names, load_pipeline


def analyzers() -> list[dict[str, Any]]:
    """Every registered analyzer: name, version, kinds, needs, models, resources,
    description and the JSON schemas of its config and output."""
    return [
        {
            "name": cls.name,
            "version": cls.version,
            "kinds": sorted(k.value for k in cls.kinds),
            "needs": list(cls.all_needs()),
            "models": list(cls.models),
            "resources": cls.resources.model_dump(),
            "description": cls.describe(),
            "config_schema": cls.Config.model_json_schema(),
            "output_schema": cls.Output.model_json_schema(),
        }
        for cls in registry.all()
    ]


def pipelines() -> list[dict[str, Any]]:
    """The built-in pipelines, each as ``Pipeline.describe`` gives it."""
    return [load_pipeline(name).describe() for name in builtin_names()]


def models(verify: bool = False) -> list[dict[str, Any]]:
    """Every declared model: source, checksum, license, size and description; with
    ``verify``, also whether it resolves offline and loads (``ok``) and why not
    (``message``)."""
    specs = model_registry.all()
    results = {r.name: r for r in (model_registry.verify(s.name) for s in specs)} if verify else {}
    return [
        {
            "name": s.name,
            "source": s.source,
            "checksum": s.checksum,
            "license": s.license,
            "size_bytes": s.size_bytes,
            "description": s.description,
            **({"ok": results[s.name].ok, "message": results[s.name].message} if verify else {}),
        }
        for s in specs
    ]
