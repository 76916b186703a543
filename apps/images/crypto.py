"""Registry passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) keyed from settings.TUTUM_CREDENTIALS_KEY.

The setting may be a Fernet key itself or any string, from which a key is derived with SHA-256.
"""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.TUTUM_CREDENTIALS_KEY
    if not key:
        raise RuntimeError("TUTUM_CREDENTIALS_KEY is empty: registry passwords cannot be stored.")
    try:
        return Fernet(key)
    except ValueError:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode("ascii")


def decrypt_secret(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode()
