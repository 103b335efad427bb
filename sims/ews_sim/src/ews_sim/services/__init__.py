"""EWS operations, one handler module per operation (as exchangelib has one service class per operation).

Each module exposes ``OPERATION`` (the SOAP element name) and ``handle(ctx)``, returning the
``m:<Operation>Response`` element or a :class:`~ews_sim.services.context.StreamingReply`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from lxml import etree

from ews_sim.services import (
    convert_id,
    create_item,
    delete_item,
    find_folder,
    find_item,
    get_events,
    get_folder,
    get_item,
    get_streaming_events,
    resolve_names,
    subscribe,
    sync_folder_items,
    unsubscribe,
    update_item,
)
from ews_sim.services.context import RequestContext, StreamingReply

Handler = Callable[[RequestContext], "etree._Element | StreamingReply"]

_MODULES: tuple[ModuleType, ...] = (
    convert_id,
    create_item,
    delete_item,
    find_folder,
    find_item,
    get_events,
    get_folder,
    get_item,
    get_streaming_events,
    resolve_names,
    subscribe,
    sync_folder_items,
    unsubscribe,
    update_item,
)

HANDLERS: dict[str, Handler] = {mod.OPERATION: mod.handle for mod in _MODULES}
