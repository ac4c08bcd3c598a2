"""The key provider's two routes over an API Gateway REST proxy event, and the proxy answer they return.

Powertools' ``APIGatewayRestResolver`` did this before; it is replaced by this table because the function has
exactly two fixed routes and the resolver's package import (every resolver, AppSync's asyncio included) was
~40 ms of each cold start, with per-request work (event wrapper, route regexes, ``Response`` object) on top.
Routing is on ``resource`` (the template's path, ``/copyProtection``), which stays the same behind a custom
domain's base path mapping, and on ``path`` for events that carry no ``resource``. The answer has the shape
the REST proxy integration takes (and the resolver returned): ``statusCode``, ``body``, ``isBase64Encoded``,
``multiValueHeaders``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Route = Callable[[Mapping[str, Any]], "Answer"]


class Answer:
    """One HTTP answer: status, text body, headers (a single value each)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: str, headers: Mapping[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers

    def proxy_result(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "body": self.body,
            "isBase64Encoded": False,
            "multiValueHeaders": {name: [value] for name, value in self.headers.items()},
        }


class RestRoutes:
    """``(method, resource)`` -> route; anything else goes to the not-found route."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}
        self._not_found: Route | None = None

    def route(self, method: str, resource: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self._routes[(method.upper(), resource)] = fn
            return fn

        return register

    def not_found(self, fn: Route) -> Route:
        self._not_found = fn
        return fn

    def find(self, event: Mapping[str, Any]) -> Route:
        method = event.get("httpMethod")
        resource = event.get("resource") or event.get("path")
        route = self._routes.get((method, resource)) if isinstance(method, str) and isinstance(resource, str) else None
        if route is None:
            if self._not_found is None:
                raise LookupError("no not-found route registered")
            return self._not_found
        return route
