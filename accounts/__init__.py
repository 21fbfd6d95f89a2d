"""Accounts: self sign-up, university sign-in (OIDC), organisations, consent and personal data."""
