"""Response models: the shape of every JSON answer of the API, one module per resource, so that
``/openapi.json`` describes what each route returns (docs/api.md keeps what a schema cannot say).

The routes still build plain dicts (``gateway.views.order_json`` is also the live feed's order);
these models only describe and check them. ``base.Out`` refuses unknown keys and ``ExactRoute``
answers only the keys a route gave, so a model never drops, adds or renames a field silently:
a shape that drifts from its model fails (tests/response_guard.py compares every body).

May import pydantic, FastAPI and one another; no storage, services or domain: a model describes JSON."""
