"""Opaque identifiers: ItemIds, FolderIds, ChangeKeys, sync states and watermarks.

Exchange hands out base64 strings that clients must treat as opaque; so do we. Each id packs what the world
needs to resolve it (owning mailbox, a 16-byte key, for occurrences the original start) plus a CRC, so that
an id that was garbled or made up is recognised as malformed rather than merely not found.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from ews_sim.world.errors import InvalidIdMalformed

_ITEM_PREFIX = b"\x00\x03\x24\x00"  # base64 "AAMkA...", like Exchange's ItemIds
_FOLDER_PREFIX = b"\x00\x01\x2e\x00"  # base64 "AAEuA...", like Exchange's FolderIds
_KIND_ITEM = 1
_KIND_OCCURRENCE = 2
_KIND_FOLDER = 3


@dataclass(frozen=True)
class IdRef:
    """What an ItemId or FolderId points at."""

    mailbox: str
    key: bytes  # 16 bytes
    original_start: datetime | None = None  # occurrences and exceptions only


def _pack(prefix: bytes, kind: int, mailbox: str, key: bytes, original_start: datetime | None) -> str:
    smtp = mailbox.lower().encode()
    body = prefix + bytes([kind, len(smtp)]) + smtp + key
    if original_start is not None:
        body += struct.pack(">q", int(original_start.timestamp()))
    body += struct.pack(">I", zlib.crc32(body))
    return base64.b64encode(body).decode("ascii")


@lru_cache(maxsize=65536)
def _unpack(text: str, prefix: bytes, kinds: tuple[int, ...]) -> tuple[int, IdRef]:
    """Decode an id (raises InvalidIdMalformed). Cached: a request decodes the same ids several times (whose
    mailbox, then which item), and the result is immutable."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidIdMalformed() from exc
    if len(raw) < len(prefix) + 2 + 16 + 4 or not raw.startswith(prefix):
        raise InvalidIdMalformed()
    body, crc = raw[:-4], raw[-4:]
    if struct.pack(">I", zlib.crc32(body)) != crc:
        raise InvalidIdMalformed()
    kind, length = body[len(prefix)], body[len(prefix) + 1]
    if kind not in kinds:
        raise InvalidIdMalformed()
    pos = len(prefix) + 2
    smtp = body[pos : pos + length].decode(errors="replace")
    key = body[pos + length : pos + length + 16]
    rest = body[pos + length + 16 :]
    if len(key) != 16:
        raise InvalidIdMalformed()
    original_start = None
    if kind == _KIND_OCCURRENCE:
        if len(rest) != 8:
            raise InvalidIdMalformed()
        original_start = datetime.fromtimestamp(struct.unpack(">q", rest)[0], UTC)
    elif rest:
        raise InvalidIdMalformed()
    return kind, IdRef(smtp, key, original_start)


def item_id(mailbox: str, key: bytes, original_start: datetime | None = None) -> str:
    """The ItemId of a single/master (``original_start`` None) or of one of its occurrences."""
    kind = _KIND_ITEM if original_start is None else _KIND_OCCURRENCE
    return _pack(_ITEM_PREFIX, kind, mailbox, key, original_start)


def folder_id(mailbox: str, key: bytes) -> str:
    return _pack(_FOLDER_PREFIX, _KIND_FOLDER, mailbox, key, None)


def parse_item_id(text: str) -> IdRef:
    """Decode an ItemId (raises InvalidIdMalformed)."""
    return _unpack(text, _ITEM_PREFIX, (_KIND_ITEM, _KIND_OCCURRENCE))[1]


def parse_folder_id(text: str) -> IdRef:
    """Decode a FolderId (raises InvalidIdMalformed)."""
    return _unpack(text, _FOLDER_PREFIX, (_KIND_FOLDER,))[1]


def change_key(key: bytes, version: int) -> str:
    """A ChangeKey that differs for every version of an item (Exchange's start with "DwAAABYAAAA")."""
    digest = hashlib.sha1(key + struct.pack(">q", version)).digest()
    return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + digest[:16]).decode("ascii")


def pack_token(tag: bytes, *numbers: int, key: bytes = b"") -> str:
    """A checksummed base64 token (sync states, watermarks): ``tag`` + ``key`` + 64-bit numbers."""
    body = tag + bytes([len(key)]) + key + b"".join(struct.pack(">q", n) for n in numbers)
    body += struct.pack(">I", zlib.crc32(body))
    return base64.b64encode(body).decode("ascii")


def unpack_token(text: str, tag: bytes, count: int) -> tuple[bytes, tuple[int, ...]] | None:
    """The key and numbers of a token made by :func:`pack_token`, or None if it is not one."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) < len(tag) + 1 + 4 or not raw.startswith(tag):
        return None
    body, crc = raw[:-4], raw[-4:]
    if struct.pack(">I", zlib.crc32(body)) != crc:
        return None
    length = body[len(tag)]
    key = body[len(tag) + 1 : len(tag) + 1 + length]
    rest = body[len(tag) + 1 + length :]
    if len(key) != length or len(rest) != 8 * count:
        return None
    return key, struct.unpack(f">{count}q", rest)
