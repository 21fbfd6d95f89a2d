"""labshare project configuration: settings, URLs, ASGI entry point, local database."""
