"""Registration server simulator: issues signed tc-calendar licences, answers check-ins, signs offline requests."""

from reg_sim.licences import LicenceTerms, generate_private_key, sign_licence
from reg_sim.offline import OfflineRequestRefused, sign_offline_request
from reg_sim.registry import KeySpec, Registry
from reg_sim.runner import RegServer

__all__ = [
    "KeySpec",
    "LicenceTerms",
    "OfflineRequestRefused",
    "RegServer",
    "Registry",
    "generate_private_key",
    "sign_licence",
    "sign_offline_request",
]
