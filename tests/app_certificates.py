"""Certificates an admin would upload to a Microsoft Entra app registration, made for tests.

``write_app_certificate`` writes a PEM file holding an RSA private key and its self-signed certificate (what
``openssl pkcs12 -in app.pfx -nodes`` produces) and returns the SHA-1 thumbprint Entra would show for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

_KEY_CACHE: list[rsa.RSAPrivateKey] = []


def rsa_key(fresh: bool = False) -> rsa.RSAPrivateKey:
    """An RSA key; the same one unless ``fresh`` (making keys is slow on a busy machine)."""
    if fresh or not _KEY_CACHE:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if fresh:
            return key
        _KEY_CACHE.append(key)
    return _KEY_CACHE[0]


def certificate_for(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    name: str = "tc-calendar",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from or now - timedelta(days=1))
        .not_valid_after(valid_until or now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def thumbprint_of(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def key_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def write_app_certificate(
    path: Path,
    *,
    key: rsa.RSAPrivateKey | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> str:
    """Write key + certificate to ``path``; returns the certificate's thumbprint."""
    key = key or rsa_key()
    certificate = certificate_for(key, valid_from=valid_from, valid_until=valid_until)
    path.write_bytes(key_pem(key) + cert_pem(certificate))
    return thumbprint_of(certificate)
