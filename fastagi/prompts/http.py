"""Serve the sounds directory over HTTP, for an Asterisk on another machine.

Asterisk 14+ plays a file given as a URL (``STREAM FILE``, ``Playback``,
``Background``): main/file.c sends any name containing ``://`` to the media
cache (``ast_media_cache_retrieve``), and res/res_http_media_cache.c fetches it
with libcurl into a local file that is then played like any sound file. So a
menu can say ``http://ivr-host:8088/en/ivr/main-greeting.wav`` instead of
``ivr/main-greeting``, and the prompts need not be copied to the PBX.

What res_http_media_cache.c does with the response, and why the headers are
what they are here:

- the file format comes from, in order: the extension at the end of the URL,
  the ``Content-Type`` header (only a type some format module declares: for
  WAV, format_wav.c declares ``audio/wav`` and ``audio/x-wav``; the raw formats
  declare none), the extension at the end of the URL's path. So URLs should end
  with the extension, and ``.wav`` is sent as ``audio/wav``; the raw formats are
  ``application/octet-stream`` and rely on their extension;
- it keeps the file until ``Cache-Control: max-age`` (or ``s-maxage``, else
  ``Expires``) runs out; without either it is stale at once. Once stale, if it
  got an ``ETag`` it asks again with a HEAD request carrying ``If-None-Match``
  and keeps its copy on ``304``; without an ETag it downloads the file again.
  ``Last-Modified`` is stored but never used. Hence a short ``max-age`` (a
  rebuilt prompt is heard within a minute) and an ETag that changes whenever
  the file is replaced (its inode, size and modification time).

Only what the directory is for is served: GET and HEAD of a path of at most
`MAX_DEPTH` plain names (letters, digits, ``_ - .``, no leading dot, no
``..``; percent-escapes are refused rather than decoded), ending in an audio
extension, resolving (symlinks included) to a regular file with that
extension inside the directory. Everything else is a 404, so the builder's
temporary files (``.name.wav.XXXX.tmp``) and any other file stay private.
There are no directory listings. Files are read whole: prompts last seconds.
"""

from __future__ import annotations

import email.utils
import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final, cast

from twisted.internet.interfaces import IListeningPort, IReactorTCP
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from fastagi.web import WebRequest

__all__ = [
    "CONTENT_TYPES",
    "DEFAULT_MAX_AGE",
    "MAX_DEPTH",
    "SoundsResource",
    "listen_sounds_http",
    "sounds_site",
]

log = logging.getLogger(__name__)

#: Served extensions and their Content-Type (see the module docstring).
CONTENT_TYPES: Final[Mapping[str, bytes]] = MappingProxyType(
    {
        "wav": b"audio/wav",
        "sln16": b"application/octet-stream",
        "sln": b"application/octet-stream",
        "ulaw": b"application/octet-stream",
        "alaw": b"application/octet-stream",
        "gsm": b"application/octet-stream",
        "g722": b"application/octet-stream",
    }
)
#: Seconds Asterisk's media cache keeps a file before asking again.
DEFAULT_MAX_AGE: Final = 60
#: ``<language>/<folder>/dynamic/<id>.wav`` is the deepest layout the IVR writes.
MAX_DEPTH: Final = 4
_ALLOW: Final = b"GET, HEAD"
_SEGMENT: Final = re.compile(rb"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def _parts(raw_path: bytes) -> list[str] | None:
    """The path's names if it may name a sound file, else None (nothing is decoded)."""
    if not raw_path.startswith(b"/"):
        return None  # absolute-form or empty request targets
    parts = raw_path[1:].split(b"/")
    if len(parts) > MAX_DEPTH:
        return None
    for part in parts:  # an empty part (``//``, trailing ``/``) fails the pattern
        if _SEGMENT.fullmatch(part) is None or b".." in part:
            return None
    _, dot, extension = parts[-1].rpartition(b".")
    if not dot or extension.decode("ascii") not in CONTENT_TYPES:
        return None
    return [part.decode("ascii") for part in parts]


def _inside(root: str, parts: list[str]) -> str | None:
    """The real path of ``root/parts`` if it stays inside the real ``root`` and keeps
    the URL's extension (Asterisk picks the format from the URL), else None."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, *parts))
    if real == real_root or os.path.commonpath((real_root, real)) != real_root:
        return None
    if real.rpartition(".")[2] != parts[-1].rpartition(".")[2]:
        return None  # a symlink named x.wav to some other kind of file
    return real


def _etag(info: os.stat_result) -> bytes:
    return b'"%x-%x-%x"' % (info.st_ino, info.st_size, info.st_mtime_ns)


def _etag_matches(header: bytes, etag: bytes) -> bool:
    """If-None-Match's weak comparison: any listed tag (``W/`` ignored) or ``*``."""
    for tag in header.split(b","):
        tag = tag.strip()
        if tag == b"*" or tag.removeprefix(b"W/") == etag:
            return True
    return False


def _not_modified(request: WebRequest, info: os.stat_result, etag: bytes) -> bool:
    """Whether the client's copy is current: If-None-Match, else If-Modified-Since."""
    tags = request.getHeader(b"if-none-match")
    if tags is not None:
        return _etag_matches(tags, etag)
    since = request.getHeader(b"if-modified-since")
    if since is None:
        return False
    try:
        when = email.utils.parsedate_to_datetime(since.decode("latin-1"))
    except (TypeError, ValueError):
        return False
    return int(info.st_mtime) <= when.timestamp()


class SoundsResource(Resource):
    """The sounds directory as one leaf resource: every check happens in `render`."""

    isLeaf = True

    def __init__(self, sounds_dir: Path, max_age: int = DEFAULT_MAX_AGE) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if max_age < 0:
            raise ValueError("max_age must be 0 or more seconds")
        self.sounds_dir = sounds_dir
        self.max_age = max_age

    def render(self, twisted_request: IRequest) -> bytes | int:
        request = cast(WebRequest, twisted_request)
        method = request.method
        if method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", _ALLOW)
            return self._finish(request, 405, b"method not allowed\n")
        parts = _parts(request.path)
        real = _inside(str(self.sounds_dir), parts) if parts is not None else None
        if real is None:
            return self._finish(request, 404, b"not found\n")
        try:
            # O_NONBLOCK: a FIFO named x.wav must not block the reactor in open().
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return self._finish(request, 404, b"not found\n")
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                return self._finish(request, 404, b"not found\n")
            etag = _etag(info)
            request.setHeader(b"etag", etag)
            modified = email.utils.formatdate(info.st_mtime, usegmt=True)
            request.setHeader(b"last-modified", modified.encode("ascii"))
            request.setHeader(b"cache-control", b"max-age=%d" % self.max_age)
            if _not_modified(request, info, etag):
                request.setResponseCode(304)
                request.finish()
                return NOT_DONE_YET
            body = file.read() if method == b"GET" else b""
        size = len(body) if method == b"GET" else info.st_size
        request.setHeader(b"content-type", CONTENT_TYPES[real.rpartition(".")[2]])
        request.setHeader(b"content-length", b"%d" % size)
        request.write(body)
        request.finish()
        return NOT_DONE_YET

    @staticmethod
    def _finish(request: WebRequest, code: int, text: bytes) -> int:
        """A short plain-text error; HEAD gets its headers only (Twisted drops the body)."""
        log.debug("sounds http: %d for %s %r", code, request.method, request.uri)
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.setHeader(b"content-length", b"%d" % len(text))
        request.write(text)
        request.finish()
        return NOT_DONE_YET


def sounds_site(sounds_dir: Path, max_age: int = DEFAULT_MAX_AGE) -> Site:
    """A twisted.web Site serving `sounds_dir` (see the module docstring)."""
    resource = SoundsResource(sounds_dir, max_age)
    site = Site(resource, parsePOSTFormSubmission=False)  # type: ignore[no-untyped-call]
    site.displayTracebacks = False
    return site


def listen_sounds_http(
    sounds_dir: Path,
    host: str,
    port: int,
    reactor: IReactorTCP | None = None,
    *,
    max_age: int = DEFAULT_MAX_AGE,
) -> IListeningPort:
    """Serve `sounds_dir` on ``host:port`` (port 0: any free port; read it from
    ``getHost().port``). Default reactor: the installed one."""
    if reactor is None:
        from twisted.internet import reactor as installed

        reactor = cast(IReactorTCP, installed)
    site = sounds_site(sounds_dir, max_age)
    # Site is a ServerFactory; Twisted's annotation wants its protocol's generic parameter.
    return reactor.listenTCP(port, site, interface=host)  # type: ignore[arg-type]
