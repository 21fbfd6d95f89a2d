"""Bookings: model, rules, services, selectors, events and jobs."""
