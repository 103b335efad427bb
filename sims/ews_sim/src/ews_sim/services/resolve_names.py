"""ResolveNames: the organisation's mailboxes matched by SMTP address or by a prefix of the address or of a
display-name word, like Exchange's ambiguous name resolution (the directory only; personal contacts are not
modelled).

As in Exchange: one match is a Success, several a Warning ``ErrorNameResolutionMultipleResults`` with every
candidate (at most 100), none an Error ``ErrorNameResolutionNoResults``.
"""

from __future__ import annotations

from lxml import etree

from ews_sim import soap
from ews_sim.services.calendar_xml import mailbox_element
from ews_sim.services.common import per_item
from ews_sim.services.context import RequestContext
from ews_sim.world.model import Mailbox
from ews_sim.xml_names import m, t

OPERATION = "ResolveNames"
MAX_RESOLUTIONS = 100


def _matches(entry: str, mailboxes: list[Mailbox]) -> list[Mailbox]:
    needle = entry.strip()
    if needle.lower().startswith("smtp:"):
        needle = needle[5:]
    folded = needle.casefold()
    exact = [mb for mb in mailboxes if mb.smtp.casefold() == folded]
    if exact:
        return exact
    # Ambiguous name resolution: a prefix of the address or of any word of the display name.
    return sorted(
        (
            mb
            for mb in mailboxes
            if mb.smtp.casefold().startswith(folded)
            or any(word.startswith(folded) for word in mb.display_name.casefold().split())
            or mb.display_name.casefold().startswith(folded)
        ),
        key=lambda mb: mb.smtp,
    )


def handle(ctx: RequestContext) -> etree._Element:
    root, messages = soap.response_root(OPERATION)
    entry = soap.text_of(ctx.payload, m("UnresolvedEntry")) or ""

    def one() -> None:
        found = _matches(entry, ctx.world.mailboxes()) if entry else []
        if not found:
            raise soap.EwsError("ErrorNameResolutionNoResults", "No results were found.")
        warning = (
            soap.EwsError("ErrorNameResolutionMultipleResults", "Multiple results were found.")
            if len(found) > 1
            else None
        )
        msg = soap.success_message(messages, OPERATION, warning=warning)
        shown = found[:MAX_RESOLUTIONS]
        result = etree.SubElement(
            msg,
            m("ResolutionSet"),
            TotalItemsInView=str(len(shown)),
            IncludesLastItemInRange="true" if len(shown) == len(found) else "false",
        )
        for mb in shown:
            etree.SubElement(result, t("Resolution")).append(mailbox_element("Mailbox", mb.address()))

    per_item(messages, OPERATION, one)
    return root
