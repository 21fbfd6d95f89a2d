"""``labshare-device run|replay|check --config FILE``: the commands a lab technician uses (README.md)."""

from __future__ import annotations

import argparse
import signal
import sys

from labshare_device.api import Refused, Unreachable
from labshare_device.client import Client
from labshare_device.config import ConfigError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labshare-device", description=__doc__)
    parser.add_argument(
        "command", choices=["run", "replay", "check"], help="run the device, replay its log, check the setup"
    )
    parser.add_argument("--config", default="/etc/labshare-device.toml", help="the configuration file")
    parser.add_argument(
        "--all", action="store_true", help="replay: send every logged event again, not only unsent ones"
    )
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(f"labshare-device: {exc}", file=sys.stderr)
        return 2
    client = Client(config)
    # systemd stops the service with SIGTERM: leave through the loop's finally (relay off, session ended).
    signal.signal(signal.SIGTERM, lambda *_: setattr(client, "stopping", True))
    if args.command == "run":
        return client.run()
    if args.command == "replay":
        if args.all:
            client.store.mark_all_unsent()
        client.heartbeat()
        left = client.store.pending_count()
        print(f"labshare-device: {left} event(s) still to send" if left else "labshare-device: the log is sent")
        return 1 if left else 0
    try:
        key = client.api.key()
        beat = client.api.heartbeat(pending=client.store.pending_count())
    except (Unreachable, Refused) as exc:
        print(f"labshare-device: the server says no or cannot be reached: {exc}", file=sys.stderr)
        return 1
    client.refresh_list(force=True)
    print(f"labshare-device: connected, server time {beat['now']}, signing key {key['kid']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
