"""Certificates for app registrations in tests: an RSA key and a self-signed certificate, as an admin would make
with ``openssl req -x509`` before uploading the certificate to Entra."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class AppCertificate:
    private_key_pem: str
    certificate_pem: str
    thumbprint: str  # SHA-1, hex

    def msal_credential(self) -> dict[str, str]:
        return {"private_key": self.private_key_pem, "thumbprint": self.thumbprint}


def make_certificate(*, valid_days: int = 365, expired: bool = False) -> AppCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tc-calendar")])
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=30), now - timedelta(days=1))
        if expired
        else (now - timedelta(minutes=5), now + timedelta(days=valid_days))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return AppCertificate(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        hashlib.sha1(der).hexdigest().upper(),
    )
