"""Secrets that must stay readable (webhook signing secrets, OIDC client secrets), sealed
at rest with AES-256-GCM under a key derived from the deployment's secret key.

A sealed value reads `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id
names the derived key (not secret: the first bytes of another HKDF output), so a value
sealed under an older secret key can be told apart and re-sealed after a rotation. The
`context` (say `webhook:<endpoint id>`) is bound as associated data: a sealed value copied
into another row does not open there.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value that no known key opens (wrong key, wrong context, or tampered)."""


def _derive(secret_key: str, info: bytes, length: int) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info)
    return hkdf.derive(secret_key.encode())


class Sealer:
    """Seals under the current secret key; opens values sealed under it or any older key
    given (for a rotation in progress)."""

    def __init__(self, secret_key: str, *, older: tuple[str, ...] = ()) -> None:
        self._current = _Key(secret_key)
        self._keys = {key.id: key for key in (_Key(k) for k in (*older, secret_key))}

    @property
    def key_id(self) -> str:
        return self._current.id

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self._current.id}:{body}"

    def unseal(self, value: str, *, context: str) -> str:
        if not is_sealed(value):
            raise SealError("not a sealed value")
        key_id, _, body = value[len(PREFIX) :].partition(":")
        key = self._keys.get(key_id)
        if key is None:
            raise SealError(f"sealed under an unknown key ({key_id})")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            opened = key.aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except InvalidTag as error:
            raise SealError("sealed value does not open (tampered or another context)") from error
        return opened.decode()

    def needs_reseal(self, value: str) -> bool:
        """True for a value in clear or sealed under an older key."""
        return not value.startswith(f"{PREFIX}{self._current.id}:")


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


class _Key:
    def __init__(self, secret_key: str) -> None:
        self.aead = AESGCM(_derive(secret_key, b"scimitar sealing key v1", 32))
        self.id = _derive(secret_key, b"scimitar sealing key id v1", 6).hex()
