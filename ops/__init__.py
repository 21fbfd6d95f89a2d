"""Running labshare in production: request ids, request logs, metrics, health."""
