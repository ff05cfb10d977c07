"""Real receivers on 127.0.0.1 for the notify tests: a threaded HTTP server that
captures every request (Slack, webhook, PagerDuty, Alertmanager paths) and answers
from a per-path script, and an aiosmtpd SMTP server that captures every e-mail."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import free_port


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: object
    at: float


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # hold the request until the receiver stops


class HttpReceiver:
    """``script[path]`` is a list of replies used in order (the last one repeats)."""

    def __init__(self) -> None:
        self.requests: list[Captured] = []
        self.script: dict[str, list[Reply]] = {}
        self.release = threading.Event()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    body = raw.decode()
                with receiver.arrived:
                    receiver.requests.append(
                        Captured(self.path, dict(self.headers), body, time.monotonic())
                    )
                    replies = receiver.script.get(self.path) or [
                        Reply(202 if "pd" in self.path else 200)
                    ]
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                    receiver.arrived.notify_all()
                if reply.hang:
                    receiver.release.wait(60)
                    return
                payload = b'{"status":"success"}' if reply.status < 300 else b'{"error":"nope"}'
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def on(self, path: str) -> list[Captured]:
        return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, n: int, timeout: float = 60) -> None:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.on(path)) >= n, timeout)
        assert ok, f"{path} got {len(self.on(path))} requests, wanted {n}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1; ``tls`` adds STARTTLS (self-signed cert), ``ssl`` wraps the
    socket (SMTPS), ``login`` requires AUTH with that user/password."""

    def __init__(
        self,
        tmp: Path,
        *,
        tls: bool = False,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                receiver.messages.append(
                    email.message_from_bytes(envelope.content, policy=email.policy.default)
                )
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                login is not None
                and (auth_data.login.decode(), auth_data.password.decode()) == login
            )
            return AuthResult(success=ok)

        self.cafile = None
        context = None
        if tls or implicit_tls:
            cert, key = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
            )
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            self.cafile = cert
        self.port = free_port()
        kwargs = dict(
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator if login else None,
            auth_require_tls=False,
            auth_required=bool(login),
        )
        if tls:
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
        if implicit_tls:
            kwargs["ssl_context"] = context
            # the controller's readiness probe must speak TLS as well
            from aiosmtpd.controller import Controller as _C  # noqa: F401
        self.controller = Controller(Handler(), **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
