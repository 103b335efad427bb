"""EWS operations, one handler module per operation (as exchangelib has one service class per operation).

Each module exposes ``OPERATION`` (the SOAP element name) and ``handle(ctx)``, returning the
``m:<Operation>Response`` element or a :class:`~ews_sim.services.context.StreamingReply`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from lxml import etree

from ews_sim.services import (
    find_item,
    get_folder,
    get_item,
)
from ews_sim.services.context import RequestContext, StreamingReply

Handler = Callable[[RequestContext], "etree._Element | StreamingReply"]

_MODULES: tuple[ModuleType, ...] = (
    find_item,
    get_folder,
    get_item,
)

HANDLERS: dict[str, Handler] = {mod.OPERATION: mod.handle for mod in _MODULES}
