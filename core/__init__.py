"""The bottom layer: the domain error type and its registry, formatting, live events, locks."""
