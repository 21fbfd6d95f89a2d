"""Web pages, wall screens and live-occupancy WebSockets."""
