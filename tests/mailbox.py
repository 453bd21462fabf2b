"""A real IMAP server on loopback: Debian's Dovecot, configured in a temporary directory.

Use the `imap_server` fixture. It starts its own `dovecot -F` with a passwd-file user and a
Maildir under tmp_path, on a spare port, and stops it afterwards; the machine's own Dovecot
(if any) is never touched. `imap_server.url` is a BOUNCE_MAILBOX_URL for it; `append()`
puts a message in a folder and `messages()` reads a folder back.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.smtp import free_port

USER = "studs"
PASSWORD = "hemligt-lösen"  # non-ASCII on purpose: the URL carries it percent-encoded

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = lansnytt-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
{users}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
"""


def _accounts() -> tuple[str, int, int]:
    """Dovecot's own login processes refuse to run as root: as root the test server uses the
    unprivileged users Debian's package creates, otherwise the current user for everything."""
    if os.getuid() != 0:
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        settings = (
            f"default_internal_user = {user}\ndefault_internal_group = {group}\n"
            f"default_login_user = {user}\n"
        )
        return settings, os.getuid(), os.getgid()
    mail_user = pwd.getpwnam("dovecot")
    settings = (
        "default_internal_user = dovecot\ndefault_internal_group = dovecot\n"
        "default_login_user = dovenull\n"
    )
    return settings, mail_user.pw_uid, mail_user.pw_gid


class ImapServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        from urllib.parse import quote

        return f"imap://{USER}:{quote(PASSWORD)}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> None:
        users, uid, gid = _accounts()
        self.root.mkdir(mode=0o755)
        (self.root / "mail").mkdir()
        (self.root / "run").mkdir()
        (self.root / "state").mkdir()
        os.chown(self.root / "mail", uid, gid)
        config = self.root / "dovecot.conf"
        config.write_text(_CONFIG.format(root=self.root, port=self.port, users=users))
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{self.root}/mail/{USER}::\n"
        )
        self.process = subprocess.Popen(
            [shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start; see {self.root / 'dovecot.log'}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        credentials = f"\0{USER}\0{PASSWORD}".encode()
        connection.authenticate("PLAIN", lambda challenge: credentials)
        return connection

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        connection = self._connect()
        try:
            connection.create(folder)
            kind, data = connection.append(folder, None, None, raw)
            assert kind == "OK", data
        finally:
            connection.logout()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The messages in a folder, as stored (empty when the folder does not exist)."""
        connection = self._connect()
        try:
            kind, _ = connection.select(f'"{folder}"', readonly=True)
            if kind != "OK":
                return []
            _, data = connection.uid("SEARCH", None, "UNDELETED")
            uids = data[0].split() if data and data[0] else []
            found = []
            for uid in uids:
                _, fetched = connection.uid("FETCH", uid, "(BODY.PEEK[])")
                found.append(b"".join(item[1] for item in fetched if isinstance(item, tuple)))
            return found
        finally:
            connection.logout()


@pytest.fixture
def imap_server():
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        pytest.fail("dovecot is missing: bin/system-deps installs dovecot-imapd")
    # Not under pytest's tmp_path: its directories are private to the current user, and as
    # root the server's processes run as Debian's dovecot users, who must reach the Maildir.
    root = Path(tempfile.mkdtemp(prefix="lansnytt-dovecot-"))
    root.chmod(0o755)
    server = ImapServer(root / "server")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
