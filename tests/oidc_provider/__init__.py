"""A tiny, real OpenID Connect provider for the tests (django-oauth-toolkit), run in its own process.

It stands in for a university's identity provider: a login page, the authorisation-code flow
with PKCE, RS256-signed ID tokens, a JWKS endpoint and userinfo. ``serve.py`` sets it up from
environment variables and serves it on 127.0.0.1 (tests/accounts/oidc.py starts it).
"""
