"""The HTTP service: a FastAPI app with API keys, tenants, jobs, search and a web UI.

``create_app`` builds the app on a store; ``cintel serve`` runs it with uvicorn.
"""

from __future__ import annotations

from cintel.server.app import create_app

__all__ = ["create_app"]
