"""Management commands of the labs app."""
