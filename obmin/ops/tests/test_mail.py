"""E-mail through the worker: settings from the environment, a failed send tried again later
with backoff and finally kept as failed, counted in /metrics; `obmin mail test` sends through
the same path to a real SMTP server (aiosmtpd) and into EMAIL_FILE_PATH."""

from __future__ import annotations

import email
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Queue

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from obmin.lib import metrics
from obmin.lib.mail import email_on_commit, retry_delay
from obmin.ops.worker import ObminWorker

OBMIN = str(Path(sys.executable).with_name("obmin"))
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: Queue[email.message.Message] = Queue()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.put(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def email_counts() -> dict[str, int]:
    return {dict(labels)["outcome"]: value for (name, labels), value in metrics.totals().items()
            if name == "obmin_emails"}


def test_backoff_grows_and_has_a_ceiling():
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(minutes=1), timedelta(minutes=4),
                                                    timedelta(minutes=16)]
    assert retry_delay(30) == timedelta(hours=4)


@pytest.mark.django_db(transaction=True)
def test_a_failed_send_is_retried_later_then_kept_as_failed(settings, time_machine,
                                                            smtp_server, admin_client):
    inbox, port = smtp_server
    settings.TASKS = DB_TASKS
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    settings.EMAIL_SEND_ATTEMPTS = 3
    worker = ObminWorker(duties=[], interval=0.1, burst=True, worker_id="test-mail")
    email_on_commit(subject="Hello", body="A body.\n", to=["dana@example.org"])

    worker.run()  # attempt 1 fails (nothing listens on port 1): queued again in a minute
    waiting = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert waiting.args_kwargs["kwargs"]["attempt"] == 2
    assert waiting.run_after > timezone.now() + timedelta(seconds=50)
    worker.run()
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1  # not due

    settings.EMAIL_PORT = port  # the SMTP server answers now: attempt 2 gets through
    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    worker.run()
    message = inbox.messages.get(timeout=10)
    assert message["To"] == "dana@example.org" and message["Subject"] == "Hello"
    assert email_counts() == {"retry": 1, "sent": 1}

    settings.EMAIL_PORT = 1  # down for good: three attempts, then the task is kept as failed
    email_on_commit(subject="Lost", body="A body.\n", to=["dana@example.org"])
    for _ in range(3):
        worker.run()
        time_machine.move_to(timezone.now() + timedelta(minutes=20))
    failed = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)
    assert failed.args_kwargs["kwargs"]["attempt"] == 3
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists()
    assert email_counts() == {"retry": 3, "sent": 1, "failed": 1}
    # The operator sees it on the staff overview, with a link to the failed tasks' errors.
    overview = admin_client.get("/staff/overview/").content.decode()
    assert 'id="failed-emails"' in overview and "1 e-mail could not be sent" in overview
    failed_list = admin_client.get("/admin/django_tasks_database/dbtaskresult/",
                                   {"status__exact": "FAILED"})
    assert failed_list.status_code == 200 and "send_email" in failed_list.content.decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    return {**env, **extra}


def test_mail_test_command_sends_through_smtp(smtp_server, tmp_path):
    inbox, port = smtp_server
    result = subprocess.run(
        [OBMIN, "mail", "test", "ops@example.org"], capture_output=True, text=True, timeout=120,
        env=_env(OBMIN_DATA_DIR=str(tmp_path), SITE_URL="https://obmin.example",
                 EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                 EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port),
                 DEFAULT_FROM_EMAIL="Exchanger <desk@obmin.example>"), check=False)
    assert result.returncode == 0, result.stderr
    message = inbox.messages.get(timeout=10)
    assert message["To"] == "ops@example.org"
    assert message["From"] == "Exchanger <desk@obmin.example>"
    assert "https://obmin.example/" in message.get_payload()


def test_mail_test_command_writes_into_email_file_path(tmp_path):
    outbox = tmp_path / "outbox"
    result = subprocess.run(
        [OBMIN, "mail", "test", "ops@example.org"], capture_output=True, text=True, timeout=120,
        env=_env(OBMIN_DATA_DIR=str(tmp_path),
                 EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                 EMAIL_FILE_PATH=str(outbox)), check=False)
    assert result.returncode == 0, result.stderr
    [written] = outbox.iterdir()
    assert "To: ops@example.org" in written.read_text()


def test_mail_test_command_says_why_a_send_fails_in_one_line(tmp_path):
    result = subprocess.run(
        [OBMIN, "mail", "test", "ops@example.org"], capture_output=True, text=True, timeout=120,
        env=_env(OBMIN_DATA_DIR=str(tmp_path),
                 EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                 EMAIL_HOST="127.0.0.1", EMAIL_PORT="1", EMAIL_TIMEOUT="2"), check=False)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "sending to ops@example.org failed" in line and "ConnectionRefusedError" in line
    bad = subprocess.run([OBMIN, "mail", "test", "not-an-address"], capture_output=True,
                         text=True, timeout=120, env=_env(OBMIN_DATA_DIR=str(tmp_path)),
                         check=False)
    assert bad.returncode != 0 and "not an e-mail address" in bad.stderr


# --- SMTP login and TLS, as a production mail server asks for them ----------------------------


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it through SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Login:
    """aiosmtpd's authenticator: accepts one user and password, and notes who logged in."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []

    def __call__(self, server: object, session: object, envelope: object, mechanism: str,
                 data: object) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        # handled=False: aiosmtpd answers a refusal with 535 itself
        return AuthResult(success=login == ("obmin", "smtp-pass-42"), handled=False)


# aiosmtpd's own words: TLS from the start is TLS too, and its deprecated name for the login.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
@pytest.mark.parametrize("tls", ["EMAIL_USE_TLS", "EMAIL_USE_SSL"])
def test_mail_test_command_logs_in_over_tls_with_the_environments_settings(tmp_path, tls):
    """EMAIL_HOST_USER and EMAIL_HOST_PASSWORD log in; EMAIL_USE_TLS upgrades the connection
    (STARTTLS, which this server requires before a login), EMAIL_USE_SSL speaks TLS from the
    start; a wrong password fails the send with the server's reason."""
    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, login, port = Inbox(), Login(), free_port()
    starttls = tls == "EMAIL_USE_TLS"
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=None if starttls else server_tls,
        tls_context=server_tls if starttls else None, require_starttls=starttls,
        # aiosmtpd cannot tell that a connection began in TLS: it requires STARTTLS only.
        auth_required=True, auth_require_tls=starttls, authenticator=login,
        auth_exclude_mechanism=["LOGIN"])  # smtplib tries PLAIN first; one try per send
    controller.start()
    try:
        def send(password: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [OBMIN, "mail", "test", "ops@example.org"], capture_output=True, text=True,
                timeout=120, check=False, env=_env(
                    OBMIN_DATA_DIR=str(tmp_path), SSL_CERT_FILE=str(cert),
                    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                    EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_TIMEOUT="10",
                    EMAIL_HOST_USER="obmin", EMAIL_HOST_PASSWORD=password, **{tls: "1"}))

        result = send("smtp-pass-42")
        assert result.returncode == 0, result.stderr
        assert inbox.messages.get(timeout=10)["To"] == "ops@example.org"
        refused = send("wrong")
        assert refused.returncode != 0
        assert "SMTPAuthenticationError" in refused.stderr
        assert login.logins == [("obmin", "smtp-pass-42"), ("obmin", "wrong")]
    finally:
        controller.stop()
