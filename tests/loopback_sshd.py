"""A real OpenSSH server on 127.0.0.1 for tests: a free port, a throwaway host key and user key,
key-based login only. It plays a board: `bench --remote` runs bundles on it through qemu."""
from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import busy

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def refusing_port():
    """A loopback port that refuses connections for as long as the block runs: bound, never listening.
    (A port merely found free and released may be taken meanwhile by a server of the other test worker.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    port: int
    user: str
    key: Path  # a private key the server accepts
    other_key: Path  # a valid key the server does not know
    known_hosts: Path  # holds the server's host key
    proc: subprocess.Popen

    @property
    def remote(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def unavailable() -> str:
    """Why the loopback server cannot run here, or ''."""
    if not Path(SSHD).exists() or shutil.which("ssh-keygen") is None:
        return "OpenSSH server not installed (apt-get install openssh-server; make setup does it as root)"
    return ""


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by a crash that skips
    the fixture's teardown (no orphaned sshd holding a port)."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_sshd(folder: Path, port: int, host_key: Path, user: str) -> subprocess.Popen:
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", "PubkeyAuthentication yes",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PermitRootLogin prohibit-password", f"AllowUsers {user}", "Subsystem sftp internal-sftp",
        "LogLevel ERROR", ""]))
    return subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=open(folder / "sshd.log", "w"), preexec_fn=_die_with_parent)


def start(folder: Path) -> Sshd:
    folder.mkdir(parents=True, exist_ok=True)
    host_key, user_key, other_key = (keygen(folder / n) for n in ("host_key", "user_key", "other_key"))
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    for path in (folder / "authorized_keys", host_key, user_key, other_key):
        path.chmod(0o600)
    user = getpass.getuser()
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    for attempt in range(3):  # the free port may be taken (by the other test worker) before sshd binds it
        port = free_port()
        proc = _start_sshd(folder, port, host_key, user)
        deadline = time.monotonic() + busy.scaled(10)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = (folder / "sshd.log").read_text().strip()
                if "Address already in use" in log and attempt < 2:
                    break
                raise RuntimeError(f"sshd exited: {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            proc.kill()
            raise RuntimeError("sshd did not start listening within 10 s")
        if proc.poll() is None:
            break
    known = folder / "known_hosts"
    key_type, key_data = (folder / "host_key.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{port} {key_type} {key_data}\n")
    return Sshd(port, user, user_key, other_key, known, proc)
