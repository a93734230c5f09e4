"""TokenCodec: what it accepts and everything it must refuse (RFC 7519, RFC 8725 best practices)."""

from __future__ import annotations

import base64
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cachetools import LRUCache
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dicom_api.auth import tokens as tokens_module
from dicom_api.auth.tokens import Claims, TokenCodec
from dicom_api.errors import Unauthorized

SECRET = "unit-test-secret-0123456789abcdef0123456789"
OLD_SECRET = "previous-secret-0123456789abcdef0123456789"
ISSUER, AUDIENCE = "dicom-api", "dicom-api"


def hs256(signing: str = SECRET, verifying: list[str | bytes] | None = None, ttl: int = 900) -> TokenCodec:
    return TokenCodec(
        algorithm="HS256",
        signing_key=signing,
        verification_keys=verifying if verifying is not None else [signing],
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=ttl,
    )


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "a" * 32,
        "ver": 0,
        "iat": now,
        "exp": now + 600,
        "jti": "b" * 32,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def refused(codec: TokenCodec, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as caught:
        codec.decode(token)
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}
    return caught.value


def pem_pair(private_key: Any) -> tuple[bytes, bytes]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def new_private_key(algorithm: str) -> Any:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module", params=["RS256", "ES256"])
def key_pair(request: pytest.FixtureRequest) -> tuple[str, bytes, bytes]:
    """(algorithm, private PEM, public PEM), generated for the test run."""
    return (request.param, *pem_pair(new_private_key(request.param)))


def asymmetric(algorithm: str, signing_key: bytes, public_key: bytes) -> TokenCodec:
    return TokenCodec(
        algorithm=algorithm,
        signing_key=signing_key,
        verification_keys=[public_key],
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=600,
    )


def test_round_trip_carries_subject_version_and_standard_claims() -> None:
    codec = hs256(ttl=900)
    before = int(time.time())
    token = codec.encode("c" * 32, 7)
    decoded = codec.decode(token)
    assert (decoded.subject, decoded.version) == ("c" * 32, 7)
    assert before + 900 <= decoded.expires_at <= int(time.time()) + 900
    raw = jwt.decode(token, options={"verify_signature": False})
    assert {"sub", "iat", "exp", "jti", "iss", "aud", "ver"} <= set(raw)
    assert (raw["iss"], raw["aud"], raw["exp"] - raw["iat"]) == (ISSUER, AUDIENCE, 900)
    assert raw["jti"] == decoded.token_id
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_every_token_has_its_own_id() -> None:
    codec = hs256()
    ids = {codec.decode(codec.encode("c" * 32, 0)).token_id for _ in range(5)}
    assert len(ids) == 5


def test_expired_token_is_refused_as_expired() -> None:
    now = int(time.time())
    token = jwt.encode(claims(iat=now - 120, exp=now - 60), SECRET, algorithm="HS256")
    assert "expired" in refused(hs256(), token).message


@pytest.mark.parametrize(
    "overrides",
    [{"aud": "another-service"}, {"iss": "someone-else"}, {"aud": [AUDIENCE + "-x"]}],
    ids=["audience", "issuer", "audience-list"],
)
def test_wrong_audience_or_issuer_is_refused(overrides: dict[str, Any]) -> None:
    refused(hs256(), jwt.encode(claims(**overrides), SECRET, algorithm="HS256"))


def test_alg_none_is_refused() -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none")
    refused(hs256(), unsigned)
    refused(hs256(), unsigned + "forged-signature")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_hmac_algorithm_with_the_same_secret_is_refused(algorithm: str) -> None:
    refused(hs256(), jwt.encode(claims(), SECRET, algorithm=algorithm))


def test_signature_with_another_secret_is_refused() -> None:
    refused(hs256(), jwt.encode(claims(), "another-secret-0123456789abcdef0123456789", algorithm="HS256"))


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "jti", "iss", "aud", "ver"])
def test_token_missing_a_claim_is_refused(missing: str) -> None:
    refused(hs256(), jwt.encode(claims(**{missing: None}), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(("claim", "value"), [("ver", "0"), ("ver", 1.5), ("sub", 42), ("exp", "soon")])
def test_token_with_a_claim_of_the_wrong_type_is_refused(claim: str, value: object) -> None:
    refused(hs256(), jwt.encode(claims(**{claim: value}), SECRET, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "é.é.é"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    refused(hs256(), garbage)


def test_tampered_payload_is_refused() -> None:
    codec = hs256()
    header, _payload, signature = codec.encode("c" * 32, 0).split(".")
    other_header, other_payload, _ = codec.encode("d" * 32, 5).split(".")
    assert header == other_header
    refused(codec, f"{header}.{other_payload}.{signature}")


def test_rotation_accepts_tokens_signed_with_a_previous_secret() -> None:
    old = hs256(signing=OLD_SECRET)
    rotated = hs256(signing=SECRET, verifying=[SECRET, OLD_SECRET])
    assert rotated.decode(old.encode("c" * 32, 3)).version == 3
    assert rotated.decode(rotated.encode("c" * 32, 4)).version == 4
    # once the old secret is dropped from the list its tokens stop working
    refused(hs256(), old.encode("c" * 32, 3))


def test_rotation_still_refuses_expired_and_unknown_keys() -> None:
    rotated = hs256(signing=SECRET, verifying=[SECRET, OLD_SECRET])
    now = int(time.time())
    expired_old = jwt.encode(claims(iat=now - 120, exp=now - 60), OLD_SECRET, algorithm="HS256")
    assert "expired" in refused(rotated, expired_old).message
    refused(rotated, jwt.encode(claims(), "unknown-secret-0123456789abcdef0123456789", algorithm="HS256"))


def test_asymmetric_round_trip(key_pair: tuple[str, bytes, bytes]) -> None:
    algorithm, private, public = key_pair
    token = asymmetric(algorithm, private, public).encode("e" * 32, 2)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    # a verifier holding only the public key accepts it
    decoded = asymmetric(algorithm, b"", public).decode(token)
    assert (decoded.subject, decoded.version) == ("e" * 32, 2)


def test_asymmetric_refuses_other_keys_and_algorithm_confusion(key_pair: tuple[str, bytes, bytes]) -> None:
    algorithm, private, public = key_pair
    codec = asymmetric(algorithm, private, public)
    other_private = pem_pair(new_private_key(algorithm))[0]
    refused(codec, jwt.encode(claims(), other_private, algorithm=algorithm))
    # the public key used as an HMAC secret (the classic RS/HS confusion) must not verify;
    # signed by hand because PyJWT itself refuses to use a PEM key as an HMAC secret
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64url(json.dumps(claims()).encode())}"
    mac = hmac.new(public, signing_input.encode(), "sha256").digest()
    refused(codec, f"{signing_input}.{b64url(mac)}")
    refused(codec, jwt.encode(claims(), None, algorithm="none"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_verified_before_is_still_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = hs256(ttl=60)
    token = codec.encode("e" * 32, 0)
    assert codec.decode(token).subject == "e" * 32
    assert codec.decode(token).subject == "e" * 32  # the second time from the verified tokens
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert "expired" in refused(codec, token).message


def test_a_tampered_copy_of_a_verified_token_is_refused() -> None:
    codec = hs256()
    token = codec.encode("f" * 32, 0)
    codec.decode(token)
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "0" * 32
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert "not valid" in refused(codec, f"{header}.{body}.{signature}").message


def test_verified_tokens_are_bounded_in_bytes_and_the_least_recent_go_first(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = hs256()
    tokens = [codec.encode(f"{i:032x}", 0) for i in range(3)]
    entry = len(tokens[0]) + tokens_module.CLAIMS_BYTES
    codec._verified = LRUCache(2 * entry, getsizeof=lambda v: v[1])  # room for two
    verifications: list[str] = []
    verify = codec._verify

    def counted(token: str) -> Claims:
        verifications.append(token)
        return verify(token)

    monkeypatch.setattr(codec, "_verify", counted)
    codec.decode(tokens[0])
    codec.decode(tokens[1])
    codec.decode(tokens[0])  # kept, and now the most recent
    codec.decode(tokens[2])  # pushes out tokens[1], the least recent
    assert verifications == [tokens[0], tokens[1], tokens[2]]
    codec.decode(tokens[1])
    assert verifications[-1] == tokens[1]
    assert codec._verified.currsize <= 2 * entry
