"""Baseline for bench:issue: the same full step with Python's `cryptography` package, which
Nordic's Python tooling uses. Reads DER CSRs (one base64 line each) from the file in argv[1],
then for every line on stdin issues each like nrf-provision's default profile (verify the CSR,
v3 certificate with the same extensions, ES256, PEM) and prints that round's rates per wall- and
per CPU-second. The bench asks for a round after each of its own, so both run under the same
load on a shared machine."""
import base64
import datetime
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

csrs = [base64.b64decode(line) for line in open(sys.argv[1]) if line.strip()]

ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
now = datetime.datetime.now(datetime.timezone.utc)
authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
client_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
digital_signature = x509.KeyUsage(True, False, False, False, False, False, False, False, False)


def issue(der):
    csr = x509.load_der_x509_csr(der)
    if not csr.is_signature_valid:
        raise ValueError("bad CSR signature")
    key = csr.public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_name)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(digital_signature, critical=True)
        .add_extension(client_auth, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
        .add_extension(authority_key_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


print("ready", flush=True)
for _ in sys.stdin:
    start = time.perf_counter()
    cpu_start = time.process_time()
    for der in csrs:
        issue(der)
    wall = len(csrs) / (time.perf_counter() - start)
    cpu = len(csrs) / (time.process_time() - cpu_start)
    # Wall rate, then the rate per CPU-second (what one otherwise idle core does).
    print(round(wall), round(cpu), flush=True)
