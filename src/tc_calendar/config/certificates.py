"""Reading an app registration's certificate credential: one PEM file with the private key and its certificate.

Microsoft Entra ID identifies an uploaded certificate by its SHA-1 thumbprint (the ``x5t`` of the signed client
assertion), so the settings name the file and the thumbprint the admin saw in Entra; both the config check and
the token source read the file here, and any problem becomes a :class:`CertificateFileError` saying what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_PEM_BLOCK = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----.*?-----END (?P=label)-----", re.DOTALL)
_THUMBPRINT_NOISE = re.compile(r"[\s:]")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
EXPORT_HINT = (
    "make it with: openssl pkcs12 -in app.pfx -nodes -out app.pem (or cat app.key app.crt > app.pem), "
    "and readable only by the connector's user"
)


class CertificateFileError(ValueError):
    """The certificate file cannot be used; ``reason`` says why and what to do, without any key material."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class CertificateCredential:
    """What msal needs to sign a client assertion, and what an admin wants to see about the certificate."""

    private_key_pem: str = field(repr=False)
    """Secret: never log it or put it in a message."""
    certificate_pem: str
    thumbprint: str
    """SHA-1 of the certificate's DER bytes, 40 upper-case hex digits, as Microsoft Entra shows it."""
    subject: str
    not_valid_before: datetime
    not_valid_after: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.not_valid_after


def normalize_thumbprint(value: str) -> str:
    """``"ab:cd ..."`` -> ``"ABCD..."``; raises :class:`ValueError` when it is not 40 hex digits after that."""
    text = _THUMBPRINT_NOISE.sub("", value).upper()
    if not _THUMBPRINT.fullmatch(text):
        raise ValueError(
            "expected the certificate's SHA-1 thumbprint as Microsoft Entra shows it: 40 hexadecimal digits"
        )
    return text


def read_certificate_credential(path: Path) -> CertificateCredential:
    """The private key and the certificate it belongs to, from one PEM file (other certificates, such as a
    chain, may follow); raises :class:`CertificateFileError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CertificateFileError(f"the certificate file {path} does not exist") from None
    except IsADirectoryError:
        raise CertificateFileError(f"{path} is a directory, expected a PEM file") from None
    except PermissionError:
        raise CertificateFileError(
            f"the certificate file {path} cannot be read by this user; let the connector's user read it"
        ) from None
    except OSError as exc:
        raise CertificateFileError(f"cannot read the certificate file {path}: {exc.strerror or exc}") from None
    text = data.decode("ascii", errors="replace")
    blocks = [(m.group("label"), m.group(0)) for m in _PEM_BLOCK.finditer(text)]
    key_blocks = [block for label, block in blocks if label in _KEY_LABELS]
    cert_blocks = [block for label, block in blocks if label == "CERTIFICATE"]
    if not key_blocks or not cert_blocks:
        missing = "a private key" if not key_blocks else "a certificate"
        if not blocks:
            missing = "a private key and a certificate in PEM format (-----BEGIN ...-----)"
        raise CertificateFileError(f"the certificate file {path} does not contain {missing}; {EXPORT_HINT}")
    key = _private_key(path, key_blocks[0])
    public = key.public_key().public_numbers()
    for block in cert_blocks:
        try:
            certificate = x509.load_pem_x509_certificate(block.encode("ascii"))
        except ValueError:
            raise CertificateFileError(f"the certificate file {path} holds a certificate that cannot be read") from None
        cert_key = certificate.public_key()
        if isinstance(cert_key, rsa.RSAPublicKey) and cert_key.public_numbers() == public:
            return CertificateCredential(
                private_key_pem=key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                # Entra's x5t thumbprint is SHA-1 of the DER certificate, whatever we think of SHA-1.
                thumbprint=certificate.fingerprint(hashes.SHA1()).hex().upper(),
                subject=certificate.subject.rfc4514_string(),
                not_valid_before=certificate.not_valid_before_utc,
                not_valid_after=certificate.not_valid_after_utc,
            )
    raise CertificateFileError(
        f"no certificate in {path} belongs to its private key; put the key and the certificate uploaded to "
        "Microsoft Entra in the same file"
    )


def _private_key(path: Path, block: str) -> rsa.RSAPrivateKey:
    if "ENCRYPTED" in block:
        raise CertificateFileError(
            f"the private key in {path} is protected by a passphrase; store it without one (openssl pkey -in "
            "key.pem -out app-key.pem) in a file only the connector's user can read"
        )
    try:
        key = serialization.load_pem_private_key(block.encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise CertificateFileError(f"the private key in {path} cannot be read; {EXPORT_HINT}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateFileError(
            f"the private key in {path} is not an RSA key; Microsoft Entra ID signs client assertions with RSA "
            "certificates only"
        )
    return key
