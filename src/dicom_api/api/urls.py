"""The service's public base URL, for the absolute URLs it answers with (DICOMweb's Location, RetrieveURL).

The rule, first match wins:
1. DICOM_API_PUBLIC_URL, when set: the one reliable answer behind any proxy.
2. A request whose peer is a trusted proxy (DICOM_API_TRUSTED_PROXIES) that sent X-Forwarded-Host: that
   host, with X-Forwarded-Port when the host carries no port, and the scheme of X-Forwarded-Proto.
3. The address the connection arrived on (the server's own listening address and port), and its scheme.
The Host header alone is never used: a client may send anything there, and a proxy that passes its own
`$host` drops the port.
"""

from __future__ import annotations

import ipaddress
import re

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_PORT = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


def public_base_url(request: Request) -> str:
    """scheme://host[:port][/root path], without a trailing slash."""
    settings = request.app.state.context.settings
    if settings.public_url:
        return str(settings.public_url)
    scheme = request.url.scheme  # X-Forwarded-Proto's, once ProxyHeadersMiddleware believed it
    root = str(request.scope.get("root_path", "")).rstrip("/")
    if request.scope.get("state", {}).get("via_trusted_proxy"):
        forwarded = _HOST_PORT.fullmatch(request.headers.get("x-forwarded-host", "").split(",")[0].strip())
        if forwarded is not None:
            port = forwarded["port"] or request.headers.get("x-forwarded-port", "").split(",")[0].strip()
            return _url(scheme, forwarded["host"], int(port) if port.isdigit() else None) + root
    host, port = request.scope.get("server") or (settings.host, settings.port)
    if port is None:  # a Unix socket: its path is no host
        host, port = settings.host, settings.port
    return _url(scheme, f"[{host}]" if ":" in host else host, int(port)) + root


def _url(scheme: str, host: str, port: int | None) -> str:
    if port is None or port == DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class RecordPeer:
    """Notes whether the peer is a trusted proxy, before ProxyHeadersMiddleware (which it wraps) replaces the
    peer with the forwarded client: only then are X-Forwarded-Host and X-Forwarded-Port believed."""

    def __init__(self, app: ASGIApp, networks: list[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(network, strict=False) for network in networks]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            scope.setdefault("state", {})["via_trusted_proxy"] = client is not None and self._trusted(client[0])
        await self.app(scope, receive, send)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)
