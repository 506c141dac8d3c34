"""Lease owners: names a process takes when it leases work, so others can tell if it died.

A name is ``host:pid:random``. Another process on the same host whose lease
expired or whose owner no longer runs may take the lease over; a name from
another host is trusted until its lease expires.
"""

from __future__ import annotations

import os
import socket


def lease_owner_id() -> str:
    """A lease owner name that lets another process on this host tell if we died."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
