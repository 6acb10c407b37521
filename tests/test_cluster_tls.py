"""A grading cluster behind TLS: the coordinator reaches it with the certificate its settings name,
and a client without a certificate the cluster's authority signed runs nothing on it.

Anyone who reaches a Dask scheduler or worker that accepts plain clients runs code there as the
workers' user (``Client(address).run(f)``, or the worker's own ``run`` handler): a student with a
shell on a machine of the cluster's network (the class's hub) would read the hidden checks and
change grades. The certificates are made here, for this test: a CA, the cluster's certificate it
signed, and one signed by another CA (a student's own).
"""
import asyncio
import datetime
import ipaddress
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from autograder.grading import GraderRefuses, cluster_security
from autograder.settings import Grading, course_config
from known_submissions.ghosts import write_class
from test_cluster import ASSIGNMENT, ROOT, cluster, course_copy, grade_command, grading_env, read_grades, scores

__all__ = ["course_copy"]  # the module fixture, used below


def write_certificate(folder, name, issuer=None):
    """(certificate, key) PEM files of ``name``: a CA of its own where ``issuer`` is None, else a
    certificate for 127.0.0.1 that ``issuer`` ((certificate, key) files) signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    if issuer is None:
        issuer_name, issuer_key = subject, key
    else:
        issuer_cert = x509.load_pem_x509_certificate(Path(issuer[0]).read_bytes())
        issuer_name = issuer_cert.subject
        issuer_key = serialization.load_pem_private_key(Path(issuer[1]).read_bytes(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True))
    if issuer is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    cert_file, key_file = Path(folder) / f"{name}.pem", Path(folder) / f"{name}-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return str(cert_file), str(key_file)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """{name: (certificate, key)}: the cluster's CA, the cluster's certificate (scheduler, workers
    and coordinator alike), and a student's CA and certificate."""
    folder = tmp_path_factory.mktemp("tls")
    made = {"ca": write_certificate(folder, "course-ca")}
    made["cluster"] = write_certificate(folder, "grading-cluster", made["ca"])
    made["student-ca"] = write_certificate(folder, "student-ca")
    made["student"] = write_certificate(folder, "student", made["student-ca"])
    return made


def grading(*settings):
    return Grading(config=course_config(ROOT, settings))


def test_the_tls_settings_build_the_clients_security(certificates):
    ca, (cert, key) = certificates["ca"][0], certificates["cluster"]
    security = cluster_security(grading(f"--Grading.tls_ca_file={ca}", f"--Grading.tls_cert={cert}",
                                        f"--Grading.tls_key={key}"), "tls://10.0.0.1:8786")
    assert security.require_encryption
    assert (security.tls_ca_file, security.tls_client_cert, security.tls_client_key) == (ca, cert, key)
    assert cluster_security(grading(), None) is None  # graded on this machine: no cluster


def test_a_tls_scheduler_without_the_settings_is_refused_with_what_to_set(certificates):
    with pytest.raises(GraderRefuses, match="Grading.tls_ca_file and Grading.tls_cert"):
        cluster_security(grading(), "tls://10.0.0.1:8786")
    with pytest.raises(GraderRefuses, match="no file"):
        cluster_security(grading(f"--Grading.tls_ca_file={certificates['ca'][0]}", "--Grading.tls_cert=/nowhere.pem"),
                         "tls://10.0.0.1:8786")
    with pytest.raises(GraderRefuses, match="not tls://"):
        cluster_security(grading(f"--Grading.tls_ca_file={certificates['ca'][0]}"), "tcp://10.0.0.1:8786")


def test_a_tcp_scheduler_gets_a_warning_that_whoever_reaches_it_runs_code(capsys):
    assert cluster_security(grading(), "tcp://10.0.0.1:8786") is None
    warning = capsys.readouterr().err
    assert "without TLS" in warning and "run code on the workers" in warning and "Grading.tls_cert" in warning


def trusting(ca):
    """A TLS context that trusts ``ca`` and has no certificate of its own."""
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    return context


def refused(address, security=None, ssl_context=None):
    """The error of a client that connects to ``address`` with ``security`` or ``ssl_context`` (a
    student's), or None where it got in."""
    from distributed.comm import connect

    async def attempt():
        args = security.get_connection_args("client") if security else {}
        if ssl_context is not None:
            args = {"ssl_context": ssl_context, "require_encryption": True}
        comm = await connect(address, timeout=3, **args)
        await comm.close()

    try:
        asyncio.run(attempt())
    except (OSError, asyncio.TimeoutError) as error:
        return error
    return None


@pytest.mark.needs_root
@pytest.mark.needs_bwrap
def test_a_submission_graded_on_a_tls_cluster_and_a_client_without_its_certificate_is_refused(
        tmp_path, course_copy, certificates, data_cache):
    from distributed import Client
    from distributed.security import Security

    student = "cluster-tls-reference"
    submitted = tmp_path / "submitted"
    write_class(ASSIGNMENT, submitted, {student: {}})
    ca, (cert, key) = certificates["ca"][0], certificates["cluster"]
    try:
        with cluster(course_copy, tmp_path / "logs", data_cache, workers=1, tls=(ca, cert, key)) as started:
            assert started.address.startswith("tls://127.0.0.1:")
            done = subprocess.run(grade_command(submitted, tmp_path / "out", "--scheduler", started.address,
                                                f"--Grading.tls_ca_file={ca}", f"--Grading.tls_cert={cert}",
                                                f"--Grading.tls_key={key}"),
                                  cwd=ROOT, env=grading_env(tmp_path, data_cache), capture_output=True, text=True,
                                  timeout=300)
            # asked of the scheduler itself: the client's scheduler_info() falls back, on a failed
            # query, to a cached summary whose list of workers is empty
            workers = started.client().run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.workers))
            # the student's attacks: the scheduler's and the worker's addresses, read from ps
            targets = [started.address, *workers]
            plain = {address: refused(address.replace("tls://", "tcp://")) for address in targets}
            no_certificate = {address: refused(address, ssl_context=trusting(ca)) for address in targets}
            own_certificate = {address: refused(address, Security(
                tls_ca_file=ca, tls_client_cert=certificates["student"][0],
                tls_client_key=certificates["student"][1], require_encryption=True)) for address in targets}
            theirs = refused(started.address, started.security())  # the coordinator's certificate gets in
            with pytest.raises((OSError, asyncio.TimeoutError)):
                Client(started.address.replace("tls://", "tcp://"), timeout=3)
            logs = started.log("scheduler") + started.log("worker-0")
    finally:
        for kind in ("autograded", "feedback"):
            shutil.rmtree(ROOT / kind / student, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "without TLS" not in done.stderr
    assert scores(read_grades(tmp_path / "out")) == {student: ("graded", 13.0)}
    assert len(workers) == 1 and all(address.startswith("tls://") for address in workers)
    assert theirs is None
    assert all(plain.values()), plain
    assert all(no_certificate.values()), no_certificate
    assert all(own_certificate.values()), own_certificate
    assert "WITHOUT TLS" not in logs and "grading worker: course" in logs
