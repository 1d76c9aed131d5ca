"""Local alert receivers for tests: an HTTP server and an SMTP server on 127.0.0.1 that keep what
they are sent, and a command line that writes its stdin to a file.

    with webhook_receiver() as hook, smtp_receiver() as smtp:
        ... hook.url, hook.bodies (parsed JSON), smtp.host, smtp.port, smtp.messages

`webhook_receiver(status=500)` answers every POST with that status; `hang=True` never answers.
The SMTP server speaks just enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT); `messages` holds each message as an `email.message.EmailMessage`.
"""

from __future__ import annotations

import email
import email.policy
import json
import shlex
import socketserver
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class WebhookReceiver:
    def __init__(self, status: int, hang: bool) -> None:
        self.status = status
        self.hang = hang
        self.bodies: list[Any] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.bodies.append(
                    {"content_type": self.headers.get("Content-Type"), **json.loads(body)}
                )
                if receiver.hang:
                    receiver.release.wait(60)
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/finews-token"


@contextmanager
def webhook_receiver(status: int = 200, hang: bool = False) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(status, hang)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode("ascii") + b"\r\n")

            def handle(self) -> None:
                self.reply("220 127.0.0.1 test SMTP")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    command = line.decode("ascii", "replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 127.0.0.1")
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        receiver.envelopes.append((sender, recipients))
                        receiver.messages.append(
                            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[arg-type]
                        )
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.host, self.port = self.server.server_address[:2]


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def file_command(path: Path) -> str:
    """A command line that appends its stdin, as one line, to `path`."""
    script = (
        "import sys; data = sys.stdin.read(); "
        "open(sys.argv[1], 'a', encoding='utf-8').write(data + '\\n')"
    )
    return shlex.join([sys.executable, "-c", script, str(path)])
