"""The HTTP face of the registry (Starlette)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reg_sim.registry import Refused, Registry


def build_app(registry: Registry) -> Starlette:
    async def fields(request: Request) -> tuple[str, str]:
        try:
            body = await request.json()
        except ValueError:
            raise Refused(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(400, "the request body is not a JSON object")
        key, fingerprint = body.get("productKey"), body.get("fingerprint")
        if not isinstance(key, str) or not isinstance(fingerprint, str) or not key or not fingerprint:
            raise Refused(400, "productKey and fingerprint are required")
        return key.strip(), fingerprint

    async def register(request: Request) -> JSONResponse:
        if not registry.available:
            return JSONResponse({"error": "the registration service is unavailable"}, status_code=503)
        try:
            key, fingerprint = await fields(request)
            return JSONResponse({"licence": registry.register(key, fingerprint)})
        except Refused as refused:
            return JSONResponse({"error": refused.reason}, status_code=refused.status)

    async def check_in(request: Request) -> JSONResponse:
        if not registry.available:
            return JSONResponse({"error": "the registration service is unavailable"}, status_code=503)
        try:
            key, fingerprint = await fields(request)
            return JSONResponse({"status": "ok", "licence": registry.check_in(key, fingerprint)})
        except Refused as refused:
            return JSONResponse({"error": refused.reason}, status_code=refused.status)

    return Starlette(routes=[
        Route("/api/v1/register", register, methods=["POST"]),
        Route("/api/v1/checkin", check_in, methods=["POST"]),
    ])
