"""Lambda proxy answers for both API Gateway payload formats, and the key provider's route table.

``Answer`` is one HTTP answer; ``proxy_result`` gives it in the REST proxy shape (``statusCode``, ``body``,
``isBase64Encoded``, ``multiValueHeaders``: the key provider's API), ``http_api_result`` in the HTTP API
payload 2.0 shape (``headers``, ``cookies``: the key delivery API). They are the shapes Powertools' resolvers
returned; the resolvers are gone from both functions because their package import (every resolver, AppSync's
asyncio included) was ~40 ms of each cold start, with per-request work (event wrapper, route regexes,
``Response`` object) on top, for a function with two fixed routes and one that sends every path to the same code.

``RestRoutes`` routes on ``resource`` (the template's path, ``/copyProtection``), which stays the same behind a
custom domain's base path mapping, and on ``path`` for events that carry no ``resource``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

Route = Callable[[Mapping[str, Any]], "Answer"]


class Answer:
    """One HTTP answer: status, text body, headers (a single value each)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: str | bytes, headers: Mapping[str, str]) -> None:
        self.status = status
        self.body = body  # bytes: sent base64-encoded, flagged isBase64Encoded
        self.headers = headers

    def _result(self, **shape: Any) -> dict[str, Any]:
        body, binary = (
            (base64.b64encode(self.body).decode("ascii"), True) if isinstance(self.body, bytes) else (self.body, False)
        )
        return {"statusCode": self.status, "body": body, "isBase64Encoded": binary, **shape}

    def proxy_result(self) -> dict[str, Any]:
        """The REST proxy integration's shape."""
        return self._result(multiValueHeaders={name: [value] for name, value in self.headers.items()})

    def http_api_result(self) -> dict[str, Any]:
        """The HTTP API payload format 2.0 shape."""
        return self._result(headers=dict(self.headers), cookies=[])


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
