"""Start the test OpenID Connect provider (tests/oidc_provider) in its own process, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import ports
from tests.clock import child_env
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "labshare-test-client"
CLIENT_SECRET = "labshare-test-secret-0123456789"


@dataclass
class Provider:
    """A running provider: its base URL, issuer and the settings labshare needs to use it."""

    url: str
    process: subprocess.Popen
    workdir: tempfile.TemporaryDirectory
    users: list[dict] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def labshare_settings(self) -> dict:
        """OIDC_* settings (or environment variables) for labshare to sign in through this provider."""
        return {
            "OIDC_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/.well-known/jwks.json",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_PROVIDER_NAME": "EIU",
        }

    def stop(self) -> None:
        stop(self.process)
        self.workdir.cleanup()


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_provider(*, users: list[dict], redirect_uris: list[str], timeout: float = 60.0) -> Provider:
    """Start the provider with ``users`` (username, password, email, names) and labshare as its client."""
    port = ports.free_port(ports.OIDC_PROVIDER)
    workdir = tempfile.TemporaryDirectory(prefix="labshare-oidc-")
    log = Path(workdir.name) / "provider.log"
    env = {
        **os.environ,
        **child_env(),
        "OIDC_TEST_PORT": str(port),
        "OIDC_TEST_DB": str(Path(workdir.name) / "provider.sqlite3"),
        "OIDC_TEST_KEY": _private_key_pem(),
        "OIDC_TEST_CLIENT_ID": CLIENT_ID,
        "OIDC_TEST_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_TEST_REDIRECTS": " ".join(redirect_uris),
        "OIDC_TEST_USERS": json.dumps(users),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.oidc_provider.serve"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    provider = Provider(url=f"http://127.0.0.1:{port}", process=process, workdir=workdir, users=users)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace")
            workdir.cleanup()
            raise RuntimeError(f"the test OIDC provider exited with {process.returncode}:\n{text[-3000:]}")
        try:
            with urllib.request.urlopen(f"{provider.issuer}/.well-known/openid-configuration", timeout=2) as response:
                if response.status == 200:
                    return provider
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    provider.stop()
    raise RuntimeError(f"the test OIDC provider did not answer within {timeout} s")
