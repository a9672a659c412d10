"""Passwords (Argon2id via argon2-cffi), signed bearer tokens (HS256 via PyJWT), the secret key and login limits."""

from __future__ import annotations

import functools
import os
import secrets
import time
import warnings
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gigshift._errors import GigshiftError
from gigshift.server._db import transaction
from gigshift.server._models import LoginAttempt, Setting

ENV_SECRET_KEY = "GIGSHIFT_SECRET_KEY"
MIN_SECRET_LENGTH = 32
TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "gigshift"
TOKEN_LIFETIME = timedelta(hours=8)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024

#: Failed logins allowed per account (and, ten times as many, per client address) within the window.
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (argon2-cffi's default)
# Verified against for unknown emails, so that a login takes as long whether the account exists or not.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class TokenError(Exception):
    """A bearer token that is malformed, forged, expired or no longer matches its user."""


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise GigshiftError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise GigshiftError(f"password: must be at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; an unknown user (``None``) costs the same time and is False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def resolve_secret_key(engine: Engine, *, secret_key: str | None = None, dev: bool = False) -> str:
    """The token signing key: ``secret_key``, else ``$GIGSHIFT_SECRET_KEY``, else (``dev`` only) one kept in the DB.

    Outside development a missing key is an error: a key generated per process would log users out
    at every restart and differ between processes serving one database.
    """
    key = secret_key or os.environ.get(ENV_SECRET_KEY)
    if key:
        if len(key) < MIN_SECRET_LENGTH:
            raise GigshiftError(
                f"{ENV_SECRET_KEY} must be at least {MIN_SECRET_LENGTH} characters (try: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return key
    if not dev:
        raise GigshiftError(
            f"set {ENV_SECRET_KEY} to a random string of at least {MIN_SECRET_LENGTH} characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'); only --demo generates one"
        )
    with transaction(engine, write=True) as session:
        stored = session.get(Setting, "dev_secret_key")
        if stored is None:
            stored = Setting(key="dev_secret_key", value=secrets.token_urlsafe(48))
            session.add(stored)
            warnings.warn(
                f"{ENV_SECRET_KEY} is not set: generated a development key and stored it in the database; "
                "set the variable for any real deployment",
                stacklevel=2,
            )
        return stored.value


def issue_token(*, user_id: int, role: str, token_version: int, secret_key: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iss": TOKEN_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
    }
    return jwt.encode(claims, secret_key, algorithm=TOKEN_ALGORITHM)


def read_token(token: str, *, secret_key: str, now: float | None = None) -> dict:
    """The verified claims of a token; raise TokenError for a bad signature, expiry or shape.

    The signature is checked once per token and process (:func:`_signed_claims` remembers it); the
    expiry is checked at every call.
    """
    claims = _signed_claims(token, secret_key)
    if claims["exp"] <= (time.time() if now is None else now):
        raise TokenError("token expired: log in again")
    return dict(claims)


@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, secret_key: str) -> MappingProxyType:
    # Every API request presents a token, mostly one it presented before, and PyJWT's checks of the
    # encoding, signature and claims cost as much CPU as the smaller requests' own work. A result is
    # a pure function of (token, key), so remembering it changes nothing but the cost; failures raise
    # and are not remembered.
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[TOKEN_ALGORITHM],  # never "none", never an algorithm the token picks
            issuer=TOKEN_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss", "role", "ver"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        raise TokenError("invalid token") from None
    if (
        not str(claims["sub"]).isdigit()
        or not isinstance(claims["ver"], int)
        or not isinstance(claims["exp"], int)
        or isinstance(claims["exp"], bool)
    ):
        raise TokenError("invalid token")
    return MappingProxyType(claims)


def login_keys(email: str, client_address: str | None) -> list[tuple[str, int]]:
    """The rate-limit keys of a login and the failures each allows."""
    keys = [(f"email:{email.strip().lower()}", LOGIN_MAX_FAILURES)]
    if client_address:
        keys.append((f"ip:{client_address}", LOGIN_MAX_FAILURES * 10))
    return keys


def seconds_locked_out(session: Session, keys: list[tuple[str, int]], *, now: datetime) -> int:
    """Seconds until the next login may be tried (0: allowed), from the failures stored in the database."""
    since = now - LOGIN_WINDOW
    wait = 0
    for key, allowed in keys:
        times = (
            session.execute(
                sa.select(LoginAttempt.at)
                .where(LoginAttempt.key == key, LoginAttempt.at > since)
                .order_by(LoginAttempt.at.desc())
                .limit(allowed)
            )
            .scalars()
            .all()
        )
        if len(times) >= allowed:
            wait = max(wait, int((times[-1] + LOGIN_WINDOW - now).total_seconds()) + 1)
    return wait


def record_failure(session: Session, keys: list[tuple[str, int]], *, now: datetime) -> None:
    session.add_all([LoginAttempt(key=key, at=now) for key, _ in keys])
    # Old failures are no longer needed by any process.
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - 2 * LOGIN_WINDOW))


def clear_failures(session: Session, email: str) -> None:
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.key == f"email:{email.strip().lower()}"))
