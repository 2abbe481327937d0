"""Encryption of OTP seeds and wizard payloads at rest.

The key lives outside the database (instance/vault_key or PORTAL_VAULT_KEY), so a copy of the
database alone reveals no seed. Fernet is authenticated encryption; MultiFernet lets a
comma-separated key list decrypt with any key and encrypt with the first, which is how keys rotate.
"""

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(Exception):
    """A value could not be decrypted (wrong key, or tampered with)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


class Vault:
    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise VaultError("no vault key configured")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        # a separate key for keyed hashes (recovery answers), derived so it never equals the cipher key
        self._hash_key = hmac.new(base64.urlsafe_b64decode(parts[-1]), b"portal keyed hash", hashlib.sha256).digest()

    def seal(self, plaintext: bytes) -> str:
        return self._fernet.encrypt(plaintext).decode()

    def open(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise VaultError("cannot decrypt a sealed value") from exc

    def rotate(self, token: str) -> str:
        """The same value, encrypted with the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("cannot decrypt a sealed value") from exc

    def keyed_hash(self, value: str) -> str:
        """For answers kept only to be compared (date of birth, SSN last four). Derived from the
        oldest key in the list, so rotating the cipher key (new key first) keeps them valid."""
        return hmac.new(self._hash_key, value.encode(), hashlib.sha256).hexdigest()

    def seal_json(self, value: dict) -> str:
        return self.seal(json.dumps(value, separators=(",", ":")).encode())

    def open_json(self, token: str) -> dict:
        return json.loads(self.open(token))
