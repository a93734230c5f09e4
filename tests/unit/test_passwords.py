"""Password policy and argon2id hashing (RFC 9106), with the OWASP minimum cost for production."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest
from argon2 import PasswordHasher, Type, extract_parameters

from dicom_api.auth import passwords
from dicom_api.errors import InvalidParameter
from tests.helpers import SpyHasher

GOOD = "correct horse battery"
OWASP_MIN_MEMORY_KIB = 19 * 1024  # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least


@pytest.fixture(scope="module")
def production() -> ModuleType:
    """A separate copy of the module, so its hasher is the one production builds at import, not the cheap
    one the test session swaps in."""
    spec = importlib.util.spec_from_file_location("production_passwords", passwords.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("password", ["", "short", "x" * 11])
def test_policy_refuses_passwords_under_12_characters(password: str) -> None:
    with pytest.raises(InvalidParameter, match="at least 12"):
        passwords.check_policy(password)
    with pytest.raises(InvalidParameter):
        passwords.hash_password(password)


def test_policy_bounds_the_length() -> None:
    passwords.check_policy("x" * 12)
    passwords.check_policy("x" * passwords.MAX_LENGTH)
    with pytest.raises(InvalidParameter, match="at most"):
        passwords.check_policy("x" * (passwords.MAX_LENGTH + 1))


def test_policy_errors_do_not_echo_the_password() -> None:
    with pytest.raises(InvalidParameter) as caught:
        passwords.check_policy("tiny-secret")
    assert "tiny-secret" not in caught.value.message


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = passwords.hash_password(GOOD), passwords.hash_password(GOOD)
    assert first.startswith("$argon2id$")
    assert GOOD not in first
    assert first != second  # a fresh salt each time
    assert passwords.verify_password(first, GOOD)
    assert passwords.verify_password(second, GOOD)
    assert not passwords.verify_password(first, GOOD + "!")
    assert not passwords.verify_password(first, "")


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=1,t=1,p=1$broken", "$2b$12$" + "a" * 53])
def test_unreadable_stored_hash_is_a_failed_verification(stored: str) -> None:
    assert passwords.verify_password(stored, GOOD) is False


def test_unknown_user_verifies_against_the_dummy_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = SpyHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    # even the dummy's own password must not let an unknown user in
    assert passwords.verify_password(None, "timing-equaliser-not-a-password") is False
    assert passwords.verify_password(None, GOOD) is False
    assert spy.verified == [passwords._DUMMY_HASH, passwords._DUMMY_HASH]


def test_dummy_hash_costs_what_a_real_hash_costs() -> None:
    dummy = extract_parameters(passwords._DUMMY_HASH)
    real = extract_parameters(passwords.hash_password(GOOD))
    assert dummy == real


def test_needs_rehash_only_for_other_parameters() -> None:
    assert not passwords.needs_rehash(passwords.hash_password(GOOD))
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1, type=Type.ID).hash(GOOD)
    assert passwords.needs_rehash(weaker)


def test_overlong_password_is_verified_on_its_bounded_prefix() -> None:
    stored = passwords.hash_password("y" * passwords.MAX_LENGTH)
    assert passwords.verify_password(stored, "y" * (passwords.MAX_LENGTH + 5000))


def test_production_hasher_is_argon2id_with_at_least_the_owasp_cost(production: ModuleType) -> None:
    hasher: PasswordHasher = production._hasher
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= OWASP_MIN_MEMORY_KIB
    assert hasher.time_cost >= 2
    assert hasher.parallelism >= 1


def test_production_dummy_hash_uses_the_production_parameters(production: ModuleType) -> None:
    assert production._DUMMY_HASH.startswith("$argon2id$")
    params = extract_parameters(production._DUMMY_HASH)
    hasher: PasswordHasher = production._hasher
    assert (params.memory_cost, params.time_cost, params.parallelism) == (
        hasher.memory_cost,
        hasher.time_cost,
        hasher.parallelism,
    )


def test_production_hash_round_trip(production: ModuleType) -> None:
    stored = production.hash_password(GOOD)
    assert stored.startswith("$argon2id$v=19$")
    assert production.verify_password(stored, GOOD)
    assert not production.verify_password(stored, GOOD + "x")
