"""Service layer: use cases that tie the domain to storage inside one transaction."""
