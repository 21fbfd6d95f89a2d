"""Webhooks: subscriptions, signed deliveries (Standard Webhooks) sent by the worker, retries and a log."""
