"""HTTP entrypoints: FastAPI app, dependencies and one router per resource."""
