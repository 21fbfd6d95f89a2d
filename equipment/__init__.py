"""Equipment, categories and sponsoring partners."""
