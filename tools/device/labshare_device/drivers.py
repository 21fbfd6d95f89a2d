"""Outputs the client switches (the machine's power) and, where wired, the sensor that says the machine is busy.

A driver has ``on()``, ``off()``, ``busy()`` (True / False, or None without a sensor) and ``close()``.
``console`` prints (for tests and a first try on a laptop); ``gpio`` drives a relay on a Raspberry Pi
pin through gpiozero and reads an optional current sensor; ``command`` runs a program for on and
off (a smart plug's tool, an MQTT publish). Any other ``package.module:Class`` taking the options
dict may be named in the configuration.
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
import sys


class ConsoleDriver:
    """Prints RELAY ON / RELAY OFF; no sensor (busy and idle come from ``:busy`` / ``:idle`` lines)."""

    def __init__(self, options: dict) -> None:
        self.out = options.get("stream") or sys.stdout
        self.state: bool | None = None

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def on(self) -> None:
        self.state = True
        self._say("RELAY ON")

    def off(self) -> None:
        if self.state is not False:
            self.state = False
            self._say("RELAY OFF")

    def busy(self) -> bool | None:
        return None

    def close(self) -> None:
        self.off()


class GpioDriver:
    """A relay on a GPIO pin (gpiozero ``OutputDevice``), off at start and on exit; an optional sensor input."""

    def __init__(self, options: dict) -> None:
        try:
            from gpiozero import DigitalInputDevice, OutputDevice
        except ImportError:
            raise SystemExit(
                "the gpio driver needs gpiozero: sudo apt install python3-gpiozero (or pip install gpiozero)"
            ) from None
        self.relay = OutputDevice(
            int(options.get("relay_pin", 17)), active_high=bool(options.get("active_high", True)), initial_value=False
        )
        pin = options.get("sensor_pin")
        self.sensor = (
            DigitalInputDevice(int(pin), pull_up=bool(options.get("sensor_pull_up", False)), bounce_time=0.2)
            if pin is not None
            else None
        )

    def on(self) -> None:
        self.relay.on()

    def off(self) -> None:
        self.relay.off()

    def busy(self) -> bool | None:
        return None if self.sensor is None else bool(self.sensor.value)

    def close(self) -> None:
        self.relay.off()
        self.relay.close()
        if self.sensor is not None:
            self.sensor.close()


class CommandDriver:
    """Runs ``on`` and ``off`` commands (e.g. a smart plug's command-line tool); no sensor."""

    def __init__(self, options: dict) -> None:
        self.commands = {"on": options.get("on", ""), "off": options.get("off", "")}
        if not all(self.commands.values()):
            raise SystemExit("the command driver needs [command] on = … and off = …")

    def _run(self, which: str) -> None:
        subprocess.run(shlex.split(self.commands[which]), check=False, timeout=10)

    def on(self) -> None:
        self._run("on")

    def off(self) -> None:
        self._run("off")

    def busy(self) -> bool | None:
        return None

    def close(self) -> None:
        self.off()


DRIVERS = {"console": ConsoleDriver, "gpio": GpioDriver, "command": CommandDriver}


def load(name: str, options: dict):
    """The driver named in the configuration: a built-in one or ``module:Class``."""
    if name in DRIVERS:
        return DRIVERS[name](options)
    module, _, attribute = name.partition(":")
    if not attribute:
        raise SystemExit(f"unknown driver {name!r}: use console, gpio, command or module:Class")
    return getattr(importlib.import_module(module), attribute)(options)
