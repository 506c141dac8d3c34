"""Guarded HTTP(S) downloads: no internal addresses, bounded size, streamed to disk.

Every hop of a redirect chain is resolved and checked before connecting: an
address that is not globally routable is refused (loopback, private, link-local,
carrier-grade NAT 100.64.0.0/10, multicast, reserved, unspecified, documentation
ranges), and so is an IPv6 address that carries such an IPv4 address inside it
(IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64), unless a host name or CIDR
range is allow-listed (``CINTEL_URL_ALLOW``). Bodies stream to a temporary file while being hashed,
and a body larger than the limit is cut off and refused.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from cintel.errors import BadInputError, TransientError

MAX_REDIRECTS = 5
_CHUNK = 1 << 16


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped and -compatible forms,
    6to4 (2002::/16), Teredo (2001::/32, server and client) and NAT64 (64:ff9b::/96,
    64:ff9b:1::/48), each of which a host may route to the IPv4 address inside."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found += list(address.teredo)
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in net for net in _NAT64):
        found.append(low32)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        found.append(low32)
    return found


def not_global(address: Address) -> Address | None:
    """The address (``address`` itself or one inside it) that makes ``address`` unsafe to
    connect to because it is not globally routable; None when it is safe."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in embedded_ipv4(address):
            if not inner.is_global or inner.is_multicast:
                return inner
    if not address.is_global or address.is_multicast:
        return address
    return None


@dataclass
class UrlPolicy:
    """Which URLs may be fetched."""

    allow: list[str] = field(default_factory=list)
    max_bytes: int = 4 * 1024**3
    timeout_s: float = 30.0
    """How long the origin may stay silent (connecting, or between two reads)."""
    deadline_s: float = 900.0
    """How long one download may take in all, redirects included."""

    def _allowed_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        nets = []
        for entry in self.allow:
            try:
                nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return nets

    def check(self, url: str) -> str | None:
        """Refuse a URL whose scheme or resolved addresses are not allowed.

        Returns the vetted address to connect to (see ``pinned``), or None when
        the host is allow-listed by name.
        """
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
            if host:
                host.encode("idna")
        except (ValueError, UnicodeError) as exc:
            raise BadInputError(f"not a valid URL ({exc}); check it", source=url) from None
        if parts.scheme not in ("http", "https"):
            raise BadInputError(
                f"URL scheme {parts.scheme!r} is not allowed (http or https)", source=url
            )
        if not host:
            raise BadInputError("URL has no host", source=url)
        if host in self.allow:
            return None
        try:
            infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80))
        except socket.gaierror as exc:
            raise TransientError(
                f"cannot resolve host {host!r} ({exc}); check the URL", source=url
            ) from exc
        allowed = self._allowed_networks()
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            unsafe = not_global(address)
            if unsafe is not None and not any(
                candidate in net for net in allowed for candidate in (address, unsafe)
            ):
                inside = "" if unsafe == address else f" (which carries {unsafe})"
                raise BadInputError(
                    f"refused: {host} resolves to the internal address {address}{inside}; "
                    "fetching it is not allowed (add the host or range to CINTEL_URL_ALLOW "
                    "to permit it)",
                    source=url,
                )
        return str(ipaddress.ip_address(infos[0][4][0]))


def pinned(
    url: str, address: str | None, headers: dict[str, str]
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL, headers and request extensions that connect to the vetted ``address``.

    Connecting to the address that was checked, not to whatever the name
    resolves to a moment later, closes the DNS-rebinding gap between check and
    connect. The Host header and the TLS server name (certificate checks
    included) stay the URL's own host.
    """
    if address is None:
        return url, headers, {}
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host = parts.hostname or ""
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header += f":{parts.port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {**headers, "Host": host_header}, extensions


@dataclass
class Download:
    """A fetched body on disk with its hash, or a note that it did not change."""

    path: Path | None
    sha256: str | None
    size: int
    final_url: str
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    not_modified: bool = False


def fetch(
    url: str,
    policy: UrlPolicy,
    dest_dir: Path,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Download:
    """Download ``url`` into ``dest_dir`` (a temporary name; the caller renames it)."""
    headers = {"User-Agent": "cintel/0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    dest_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with httpx.Client(timeout=policy.timeout_s, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = policy.check(current)
            target, sent_headers, extensions = pinned(current, address, headers)
            try:
                with client.stream(
                    "GET", target, headers=sent_headers, extensions=extensions
                ) as response:
                    # 304 first: httpx counts every 3xx, 304 included, as a redirect.
                    if response.status_code == 304:
                        return Download(None, None, 0, current, etag, last_modified, None, True)
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise BadInputError("redirect without a Location header", source=url)
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 500 or response.status_code == 429:
                        raise TransientError(
                            f"server answered {response.status_code}; try again later", source=url
                        )
                    if response.status_code >= 400:
                        raise BadInputError(
                            f"server answered {response.status_code} {response.reason_phrase}; "
                            "check the URL",
                            source=url,
                        )
                    return _save(response, url, current, policy, dest_dir, started)
            except httpx.ConnectTimeout as exc:
                raise TransientError(
                    f"could not connect within {policy.timeout_s:.0f} s; is the host reachable?",
                    source=url,
                ) from exc
            except httpx.TimeoutException as exc:
                raise TransientError(
                    f"the origin stopped sending for {policy.timeout_s:.0f} s; try again later",
                    source=url,
                ) from exc
            except httpx.ConnectError as exc:
                raise TransientError(
                    f"cannot connect ({exc}); is the host reachable?", source=url
                ) from exc
            except httpx.TransportError as exc:
                raise TransientError(
                    f"the connection to the origin broke ({exc}); try again later", source=url
                ) from exc
    raise BadInputError(f"more than {MAX_REDIRECTS} redirects", source=url)


def _save(
    response: httpx.Response,
    url: str,
    final_url: str,
    policy: UrlPolicy,
    dest_dir: Path,
    started: float,
) -> Download:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise BadInputError(
            f"is {int(declared):,} bytes, over the download limit of {policy.max_bytes:,} "
            "(CINTEL_LIMIT_MAX_DOWNLOAD_BYTES)",
            source=url,
        )
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix="download-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise BadInputError(
                        f"is larger than the download limit of {policy.max_bytes:,} bytes "
                        "(CINTEL_LIMIT_MAX_DOWNLOAD_BYTES)",
                        source=url,
                    )
                digest.update(chunk)
                out.write(chunk)
                elapsed = time.monotonic() - started
                if elapsed > policy.deadline_s:
                    raise BadInputError(
                        f"the origin was too slow: {size:,} bytes in {elapsed:.0f} s, over the "
                        f"download deadline of {policy.deadline_s:.0f} s "
                        "(CINTEL_LIMIT_MAX_DOWNLOAD_S); fetch it from a faster source",
                        source=url,
                    )
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Download(
        path=Path(tmp),
        sha256=digest.hexdigest(),
        size=size,
        final_url=final_url,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        content_type=response.headers.get("content-type"),
    )
