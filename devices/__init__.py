"""Devices at the machines: interlocks and kiosks, badges, measured sessions, offline allow-lists."""
