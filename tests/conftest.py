"""Test-wide fixtures. Every test runs on real PostgreSQL (the local cluster or DATABASE_URL)."""

from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _vietnamese_by_default():
    """Tests start in the product's default language, as a user would."""
    with translation.override("vi"):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing a test password with the production hasher costs ~1 s on a busy machine; tests
    need a working login, not a strong hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lab(db):
    from tests.factories import make_lab, open_weekdays

    lab = make_lab("fablab-test")
    open_weekdays(lab)
    return lab


@pytest.fixture
def resource(lab):
    from tests.factories import make_resource

    return make_resource(lab)


@pytest.fixture
def student(db):
    from tests.factories import make_user

    return make_user("student")
