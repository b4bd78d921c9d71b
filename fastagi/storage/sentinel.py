"""`redis+sentinel://` URLs: Redis behind Sentinel, parsed into what the client needs.

    redis+sentinel://[[user]:password@]host1[:26379][,host2[:26379]...]/<master>[/<db>]
                     [?sentinel_password=...&sentinel_username=...]

- the hosts are the **sentinels** (port 26379 when left out; `[::1]:26379`
  for IPv6), not the Redis servers: the sentinels name the current master;
- `<master>` is the name the sentinels monitor it under (`sentinel monitor
  <master> ...` in sentinel.conf), `<db>` the database number (0);
- `user:password@` is what the **master** (and its replicas) ask for
  (`requirepass` / ACL), as in a `redis://` URL;
- `sentinel_password` (and `sentinel_username`) are for the sentinels
  themselves, which have their own `requirepass` (Redis 5.0.1+) and usually
  another secret than the data servers, or none - so they cannot share the
  userinfo part.

Percent-encode `@ : / , ? & #` in a password. Pure parsing: no Redis here;
`fastagi.storage.open_async_client` / `open_sync_client` build the clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl, unquote

__all__ = [
    "DEFAULT_SENTINEL_PORT",
    "SCHEME",
    "SentinelTarget",
    "is_sentinel_url",
    "parse_sentinel_url",
]

SCHEME: Final = "redis+sentinel"
DEFAULT_SENTINEL_PORT: Final = 26379
#: The query options understood; anything else is refused (a typo would otherwise be ignored).
QUERY_OPTIONS: Final = ("sentinel_password", "sentinel_username")

_MASTER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9._-]{1,253}$")
_FORM = "redis+sentinel://[:password@]host:26379[,host:26379...]/<master-name>[/<db>]"


@dataclass(frozen=True)
class SentinelTarget:
    """What a `redis+sentinel://` URL names. The repr hides the passwords."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    def sentinel_list(self) -> str:
        """`host1:26379,host2:26379` (IPv6 hosts in brackets), for messages."""
        return ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.sentinels)


def is_sentinel_url(url: str) -> bool:
    """Whether `url` is a `redis+sentinel://` URL (the scheme, any case)."""
    scheme, separator, _ = url.partition("://")
    return bool(separator) and scheme.lower() == SCHEME


def _bad(problem: str) -> ValueError:
    return ValueError(f"bad Redis Sentinel URL: {problem} (expected {_FORM})")


def _address(item: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` -> (host, port)."""
    if item.startswith("["):
        host, closing, rest = item[1:].partition("]")
        if not closing or not host or (rest and not rest.startswith(":")):
            raise _bad(f"sentinel address {item!r} is not [ipv6]:port")
        port_text = rest[1:] if rest else ""
        if not re.fullmatch(r"[0-9A-Fa-f:.]+", host):
            raise _bad(f"sentinel address {item!r} is not [ipv6]:port")
    else:
        host, colon, port_text = item.partition(":")
        if colon and not port_text:
            raise _bad(f"sentinel address {item!r} has an empty port")
        if not _HOST_NAME.fullmatch(host):
            raise _bad(f"sentinel host {host!r} is not a host name or address")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise _bad(f"sentinel port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The sentinels, master name, db and credentials of a `redis+sentinel://` URL.

    Raises ValueError with a plain message (never the password) when the URL
    is malformed.
    """
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme.lower() != SCHEME:
        raise _bad(f"the scheme must be {SCHEME}://")
    if "#" in rest:
        raise _bad("a fragment (#...) has no meaning here")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user_text, colon, password_text = userinfo.partition(":")
        username = unquote(user_text) or None
        password = unquote(password_text) if colon else None
    if not hosts:
        raise _bad("no sentinel host")
    sentinels = tuple(_address(item) for item in hosts.split(","))
    if len(set(sentinels)) != len(sentinels):
        raise _bad("a sentinel is listed twice")
    if not slash or not path:
        raise _bad("no master name after the sentinel hosts")
    parts = path.split("/")
    if parts[-1] == "":
        parts.pop()  # a trailing slash
    if len(parts) > 2:
        raise _bad("the path has more than /<master-name>/<db>")
    master = unquote(parts[0])
    if not _MASTER_NAME.fullmatch(master):
        raise _bad(f"master name {master!r} is not letters, digits, '.', '_' or '-'")
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit() or len(parts[1]) > 5:
            raise _bad(f"database {parts[1]!r} is not a number")
        db = int(parts[1])
    options: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _bad("the query is not name=value pairs joined by '&'") from None
    for name, value in pairs:
        if name not in QUERY_OPTIONS:
            raise _bad(f"unknown option {name!r} (known: {', '.join(QUERY_OPTIONS)})")
        if name in options:
            raise _bad(f"option {name!r} given twice")
        options[name] = value
    return SentinelTarget(
        sentinels=sentinels,
        master=master,
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username") or None,
        sentinel_password=options.get("sentinel_password") or None,
    )
