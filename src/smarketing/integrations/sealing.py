"""Endpoint secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY.

The key is HKDF-SHA256 of `settings.SECRET_KEY` with a purpose label, so it is never the
secret key itself and no other part of the app shares it. After a SECRET_KEY rotation,
keep the old key in `SECRET_KEY_FALLBACKS`: secrets sealed under it still open (and are
sealed again under the new key the next time the endpoint is saved). A secret that no
key opens makes its deliveries fail with a message asking an admin to enter it again.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PURPOSE = b"smarketing.integrations.endpoint-secrets.v1"


class SecretUnreadable(Exception):
    """The stored secrets were sealed under a key this installation no longer has."""


def _fernet_for(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _keyring() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(k) for k in keys])


def seal(secrets: dict[str, str]) -> str:
    """The secrets as one Fernet token (text); an empty dict seals to an empty string."""
    if not secrets:
        return ""
    return _keyring().encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_keyring().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The endpoint's secrets cannot be decrypted (was SECRET_KEY changed?); "
            "enter them again on the endpoint."
        ) from exc


def hint(value: str) -> str:
    """What may be shown of a secret: its last four characters, for a value long enough."""
    return value[-4:] if len(value) >= 12 else ""
