"""The device's configuration: one TOML file (see README.md for every key), checked when the client starts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

#: What the device is: an interlock at a machine; a kiosk at the desk (check-in, and card
#: registration after ``:enrol``); a kiosk that only registers cards (profile QR, then the card).
MODES = ("machine", "kiosk", "enrol")


class ConfigError(ValueError):
    """The configuration cannot be used (the message says which key and why)."""


@dataclass
class Config:
    """Everything the client reads from its file, with the defaults a technician rarely changes."""

    url: str
    token: str
    public_key: str = ""
    timeout: float = 4.0
    name: str = "labshare device"
    driver: str = "console"
    state_dir: Path = Path("/var/lib/labshare-device")
    heartbeat_seconds: float = 60.0
    allow_list_hours: int = 4
    allow_list_refresh_minutes: float = 15.0
    stop_at_end: bool = True
    language: str = "both"
    mode: str = "machine"
    enrol_timeout_seconds: float = 60.0
    driver_options: dict = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.state_dir / "device.sqlite3"


def _section(data: dict, name: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def load(path: str | Path) -> Config:
    """Read and check the configuration at ``path``."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    server, device = _section(data, "server"), _section(data, "device")
    url = str(server.get("url", "")).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("[server] url must start with https:// (or http:// on a test bench)")
    token = str(server.get("token", ""))
    if not token.startswith("lsd_"):
        raise ConfigError("[server] token must be the device token shown when the device was registered (lsd_…)")
    driver = str(device.get("driver", "console"))
    config = Config(
        url=url,
        token=token,
        public_key=str(server.get("public_key", "")),
        timeout=float(server.get("timeout", 4.0)),
        name=str(device.get("name", "labshare device")),
        driver=driver,
        state_dir=Path(device.get("state_dir", "/var/lib/labshare-device")),
        heartbeat_seconds=float(device.get("heartbeat_seconds", 60)),
        allow_list_hours=int(device.get("allow_list_hours", 4)),
        allow_list_refresh_minutes=float(device.get("allow_list_refresh_minutes", 15)),
        stop_at_end=bool(device.get("stop_at_end", True)),
        language=str(device.get("language", "both")),
        mode=str(device.get("mode", "machine")),
        enrol_timeout_seconds=float(device.get("enrol_timeout_seconds", 60)),
        driver_options=_section(data, driver.split(":")[-1]) if ":" not in driver else _section(data, "driver"),
    )
    if not 1 <= config.allow_list_hours <= 12:
        raise ConfigError("[device] allow_list_hours must be between 1 and 12")
    if config.heartbeat_seconds <= 0 or config.timeout <= 0:
        raise ConfigError("[device] heartbeat_seconds and [server] timeout must be positive")
    if config.mode not in MODES:
        raise ConfigError('[device] mode must be "machine" (an interlock), "kiosk" or "enrol" (a kiosk)')
    if config.enrol_timeout_seconds <= 0:
        raise ConfigError("[device] enrol_timeout_seconds must be positive")
    if config.language not in ("vi", "en", "both"):
        raise ConfigError('[device] language must be "vi", "en" or "both"')
    return config
