"""Management commands: load_holidays, load_demo."""
