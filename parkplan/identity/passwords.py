"""Password hashing: PBKDF2-SHA256 with a random salt per user, compared in constant time.

A stored hash reads ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (salt and hash in
unpadded URL-safe base64). Nothing here is computed at import: the dummy hash that makes
an unknown user cost as much as a known one is made on first need (:func:`dummy_hash`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

#: Hash scheme and cost (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
SCHEME = "pbkdf2_sha256"
ITERATIONS = 600_000


def b64encode(raw: bytes) -> str:
    """Return ``raw`` as unpadded URL-safe base64 (the hash format's encoding)."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Return the bytes of unpadded URL-safe base64 ``text``."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Return ``pbkdf2_sha256$<iterations>$<salt>$<hash>`` for ``password``.

    Parameters
    ----------
    password : str
    salt : bytes, optional
        Default 16 random bytes; give one only for reproducible demo files.
    iterations : int

    Returns
    -------
    str
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${b64encode(salt)}${b64encode(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored hash ``encoded`` (constant-time compare).

    Parameters
    ----------
    password : str
    encoded : str
        A hash made by :func:`hash_password`; anything else never matches.

    Returns
    -------
    bool
    """
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != SCHEME:
            return False
        got = hashlib.pbkdf2_hmac(
            "sha256", password.encode("utf-8"), b64decode(salt), int(iterations)
        )
        return hmac.compare_digest(got, b64decode(digest))
    except (ValueError, TypeError):
        return False


def is_password_hash(encoded: object) -> bool:
    """Whether ``encoded`` has the shape of a stored hash (never a plaintext password)."""
    return isinstance(encoded, str) and encoded.startswith(SCHEME + "$") and encoded.count("$") == 3


@functools.cache
def dummy_hash() -> str:
    """Return a hash no password matches, made once on first need.

    Checking a password against it costs what checking a real user's costs, so that an
    unknown user name cannot be told from a known one by timing; made lazily because it
    takes most of a second and most commands never check a password.
    """
    return hash_password("not a password", salt=b"parkplan-dummy!!")


__all__ = [
    "ITERATIONS",
    "SCHEME",
    "b64decode",
    "b64encode",
    "dummy_hash",
    "hash_password",
    "is_password_hash",
    "verify_password",
]
