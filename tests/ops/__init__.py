"""Tests of running in production: tokens, security, processes, logs, metrics, health, backups."""
