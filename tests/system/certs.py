# SPDX-License-Identifier: BSD-2-Clause
"""Test certificates for the DNS over TLS and over HTTPS system tests.

Made with the ``openssl`` command (openssl-req(1), openssl-ca(1)) in a
directory of the test's: a CA, and server certificates it signs for
127.0.0.1, ::1 and dns.test (HOSTNAME), valid over any chosen span of
time. ``openssl ca -startdate/-enddate`` sets both ends of that span, so
an expired certificate needs no fake clock.

Keys are ECDSA P-256: quick to make, and usable with TLS 1.2 and 1.3.
"""

import datetime
import hashlib
import ssl
import subprocess
from pathlib import Path

HOSTNAME = "dns.test"
SAN = "IP:127.0.0.1,IP:::1,DNS:%s" % HOSTNAME

# openssl-ca(1) wants a configuration: the CA's database files, and the
# extensions a DNS server's certificate carries (RFC 5280 4.2.1).
_CA_CONF = """
[ca]
default_ca = test_ca

[test_ca]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/issued
rand_serial = yes
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none

[any_name]
commonName = supplied

[intermediate]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign

[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
"""


def _openssl(*args, cwd=None):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                                p.stderr.decode(
                                                    errors="replace")))
    return p.stdout


def _asn1_time(t):
    return t.strftime("%Y%m%d%H%M%SZ")


def new_key(path):
    """A fresh P-256 private key in PEM at ``path``; returns the path."""
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", str(path))
    return Path(path)


def fingerprint(pem_or_der):
    """SHA-256 of a certificate's DER form, as hex."""
    if isinstance(pem_or_der, str):
        pem_or_der = ssl.PEM_cert_to_DER_cert(pem_or_der)
    return hashlib.sha256(pem_or_der).hexdigest()


def file_fingerprint(path):
    """Fingerprint of the first certificate in a PEM file."""
    text = Path(path).read_text()
    end = "-----END CERTIFICATE-----"
    return fingerprint(text[:text.index(end) + len(end)] + "\n")


class Pki:
    """A CA in ``workdir`` and the server certificates it has signed."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "issued").mkdir(exist_ok=True)
        (self.dir / "index.txt").write_text("")
        self.conf = self.dir / "ca.cnf"
        self.conf.write_text(_CA_CONF.format(dir=self.dir, san=SAN))
        self.ca_key = new_key(self.dir / "ca.key")
        self.ca = self.dir / "ca.pem"
        _openssl("req", "-x509", "-new", "-key", str(self.ca_key),
                 "-subj", "/CN=dnsgate test CA", "-days", "3650",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-out", str(self.ca))

    def _sign(self, name, subject, extensions, issuer, issuer_key, key,
              not_before, not_after):
        """Sign a new certificate for ``key``: its PEM file's path."""
        csr = self.dir / ("%s.csr" % name)
        out = self.dir / ("%s.leaf.pem" % name)
        _openssl("req", "-new", "-key", str(key), "-subj", subject,
                 "-out", str(csr))
        _openssl("ca", "-batch", "-notext", "-config", str(self.conf),
                 "-cert", str(issuer), "-keyfile", str(issuer_key),
                 "-extensions", extensions, "-in", str(csr),
                 "-out", str(out),
                 "-startdate", _asn1_time(not_before),
                 "-enddate", _asn1_time(not_after))
        return out

    def server(self, name, not_before=None, not_after=None, days=None,
               key=None, intermediate=False):
        """(certificate, key) paths of a new server certificate.

        Valid from ``not_before`` (default a day ago) to ``not_after``
        (default a year on; ``days`` from now when given); ``key`` reuses
        an existing key file. The certificate file holds the chain: the
        server's certificate, then the CA's; with ``intermediate`` the
        server's certificate is signed by a new intermediate CA, and the
        chain is the server's certificate then the intermediate's (a
        client trusting the CA needs both).
        """
        now = datetime.datetime.now(datetime.timezone.utc)
        if not_before is None:
            not_before = now - datetime.timedelta(days=1)
        if days is not None:
            not_after = now + datetime.timedelta(days=days)
        elif not_after is None:
            not_after = now + datetime.timedelta(days=365)
        issuer, issuer_key = self.ca, self.ca_key
        if intermediate:
            issuer_key = new_key(self.dir / ("%s.ica.key" % name))
            issuer = self._sign(
                "%s.ica" % name, "/CN=dnsgate test intermediate CA",
                "intermediate", self.ca, self.ca_key, issuer_key,
                now - datetime.timedelta(days=2),
                now + datetime.timedelta(days=3650))
        key = Path(key) if key else new_key(self.dir / ("%s.key" % name))
        leaf = self._sign(name, "/CN=%s" % HOSTNAME, "server", issuer,
                          issuer_key, key, not_before, not_after)
        chain = self.dir / ("%s.pem" % name)
        chain.write_text(leaf.read_text() + issuer.read_text())
        return chain, key

    def client_context(self, minimum=None, maximum=None, alpn=None):
        """An ssl.SSLContext that trusts only this CA and checks the
        server's name (HOSTNAME or its address)."""
        ctx = ssl.create_default_context(cafile=str(self.ca))
        if minimum is not None:
            ctx.minimum_version = minimum
        if maximum is not None:
            ctx.maximum_version = maximum
        if alpn is not None:
            ctx.set_alpn_protocols(alpn)
        return ctx
