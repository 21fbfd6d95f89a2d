"""The reference labshare device client: reads badges, asks the server, switches the machine, keeps working offline."""

__version__ = "1.0.0"
