"""``GET /c/{id}``: the conference page a **Join** button opens, as on a real TrueConf Server.

A real server offers its web client and apps there; the simulator shows what a person following the link
would want to know (which conference, whether it has started, who is invited) so a demo's Join button leads
somewhere meaningful.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tcs_sim.state import World

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:36rem;color:#1d2b36}}
.state{{display:inline-block;padding:.2rem .6rem;border-radius:1rem;background:{badge};color:#fff}}</style>
</head><body><h1>{title}</h1><p>Conference ID <code>{cid}</code> on {server}
<span class="state">{state}</span></p><h2>Invited</h2><ul>{people}</ul>
<p>This page is served by the TrueConf Server simulator.</p></body></html>"""


def join_routes(world: World) -> list[Route]:
    async def join(request: Request) -> Response:
        cid = request.path_params["cid"]
        with world.locked():
            conference = world.conferences.get(cid)
            if conference is None:
                return HTMLResponse(f"<h1>No conference {escape(cid)} on this server</h1>", status_code=404)
            running = conference.get("state") == "running"
            invited = [str(i.get("display_name") or i.get("id")) for i in conference.get("invitations", [])]
            title = str(conference.get("topic") or cid)
        page = _PAGE.format(
            title=escape(title), cid=escape(cid), server=escape(world.server_name),
            state="running" if running else "not started", badge="#00a398" if running else "#8a97a3",
            people="".join(f"<li>{escape(name)}</li>" for name in invited) or "<li>nobody yet</li>",
        )
        return HTMLResponse(page)

    return [Route("/c/{cid}", join, methods=["GET"])]
