"""`bench --remote USER@HOST[:PORT] PKG`: time a package's .ms files on a real board over SSH.

Copies the package's device/arm64/ bundle to a fresh folder on the board (SFTP), runs its run.sh,
brings the JSON back and removes the folder. Key-based login only, the host key must already be
in known_hosts (never trusted on first use), every step has a timeout.

EDGE_STUDIO_REMOTE_PREFIX (or prefix=) runs the board's runner through a wrapper, e.g.
'qemu-aarch64-static -L /usr/aarch64-linux-gnu' on an x86 machine standing in for a board;
such numbers are labelled emulated.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from jobs.state import JobState

PREFIX_ENV = "EDGE_STUDIO_REMOTE_PREFIX"
_REMOTE = re.compile(r"^(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
                     r"(?::(?P<port>[0-9]{1,5}))?$")


class RemoteBenchError(RuntimeError):
    """One line: what went wrong with the board, and what to do."""


@dataclass(frozen=True)
class Remote:
    user: str
    host: str
    port: int = 22

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_remote(text: str) -> Remote:
    m = _REMOTE.match(text.strip())
    if not m or not (0 < int(m.group("port") or 22) < 65536):
        raise RemoteBenchError(f"{text!r}: give the board as USER@HOST or USER@HOST:PORT")
    return Remote(m.group("user"), m.group("host").strip("[]"), int(m.group("port") or 22))


def find_bundle(package: str | Path) -> Path:
    """The arm64 bundle of a package: PKG/device/arm64, PKG/arm64, or the bundle folder itself."""
    package = Path(package)
    for folder in (package / "device" / "arm64", package / "arm64", package):
        if (folder / "run.sh").is_file() and (folder / "bundle.json").is_file():
            return folder
    raise RemoteBenchError(f"{package}: no ARM64 bundle (device/arm64/ with run.sh); deploy writes one "
                           "when the ARM64 tools are set up (make setup)")


def _connect(remote: Remote, key: str | Path | None, known_hosts: str | Path | None, timeout: float):
    import paramiko

    # paramiko's transport thread logs failures with tracebacks; ours is the one line that matters.
    logging.getLogger("paramiko").addHandler(logging.NullHandler())

    client = paramiko.SSHClient()
    try:
        if known_hosts:
            client.load_host_keys(str(known_hosts))
        else:
            client.load_system_host_keys()
    except OSError as exc:
        raise RemoteBenchError(f"cannot read known_hosts {known_hosts}: {exc.strerror or exc}") from None
    client.set_missing_host_key_policy(paramiko.RejectPolicy())  # an unknown board is refused, not trusted
    where = f"{remote.host}:{remote.port}"
    try:
        client.connect(remote.host, port=remote.port, username=remote.user,
                       key_filename=str(key) if key else None, look_for_keys=key is None, allow_agent=key is None,
                       timeout=timeout, banner_timeout=timeout, auth_timeout=timeout, channel_timeout=timeout)
    except paramiko.BadHostKeyException:
        raise RemoteBenchError(f"{where}: its host key differs from the one in known_hosts: refusing to connect "
                               "(if the board was reinstalled, remove its old line with ssh-keygen -R)") from None
    except paramiko.AuthenticationException:
        raise RemoteBenchError(f"{remote}: the board refused the key (key-based login only: add your public key to "
                               f"{remote.user}'s ~/.ssh/authorized_keys on the board, or pass --identity)") from None
    except paramiko.SSHException as exc:
        if "banner" in str(exc):
            raise RemoteBenchError(f"{where} accepted the connection but did not answer as an SSH server "
                                   f"within {timeout:.0f} s") from None
        if "known_hosts" in str(exc):
            raise RemoteBenchError(f"{where} is not in known_hosts: check its fingerprint, then add it "
                                   f"(ssh -p {remote.port} {remote.user}@{remote.host} once, or ssh-keyscan)") from None
        raise RemoteBenchError(f"{where}: SSH failed: {exc}") from None
    except socket.gaierror:
        raise RemoteBenchError(f"{remote.host}: unknown host name") from None
    except (socket.timeout, TimeoutError):
        raise RemoteBenchError(f"{where} did not answer within {timeout:.0f} s") from None
    except (OSError, EOFError) as exc:
        raise RemoteBenchError(f"cannot connect to {where}: {getattr(exc, 'strerror', None) or exc}") from None
    return client


def _exec(client, command: str, timeout: float) -> tuple[int, str, str]:
    """Run a command on the board; (exit status, stdout, stderr). A timeout closes the channel."""
    _, stdout, stderr = client.exec_command(command, timeout=timeout)
    channel = stdout.channel
    deadline = time.monotonic() + timeout
    out, err = bytearray(), bytearray()
    while True:  # drain both streams while waiting: a full pipe would stall the board's side
        while channel.recv_ready():
            out += channel.recv(65536)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
            break
        if time.monotonic() > deadline:
            channel.close()
            raise RemoteBenchError(f"the board did not finish `{command.split()[0]} …` within {timeout:.0f} s")
        time.sleep(0.05)
    return channel.recv_exit_status(), out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _upload(client, bundle: Path, target: str, timeout: float) -> int:
    sftp = client.open_sftp()
    sftp.get_channel().settimeout(timeout)
    sent = 0
    try:
        for path in sorted(bundle.rglob("*")):
            rel = path.relative_to(bundle)
            if rel.parts[0] in ("lib", "lib.part"):  # unpacked by a local run: the board unpacks its own
                continue
            remote_path = f"{target}/{rel.as_posix()}"
            if path.is_dir():
                sftp.mkdir(remote_path)
            else:
                sftp.put(str(path), remote_path)
                sftp.chmod(remote_path, path.stat().st_mode & 0o777)
                sent += path.stat().st_size
    finally:
        sftp.close()
    return sent


def _label(host: str, system: dict, host_machine: str, emulated: bool) -> str:
    text = f"measured on {host}: {system.get('machine', '?')}, {system.get('cores', '?')} cores, " \
           f"{system.get('cpu_model', 'unknown CPU')}"
    if emulated:
        text += f" — emulated by qemu on an {host_machine} machine: correctness only, not device speed"
    return text


def remote_bench(remote: str | Remote, package: str | Path, *, key: str | Path | None = None,
                 known_hosts: str | Path | None = None, prefix: str | None = None, threads: int = 1,
                 warmup: int = 10, runs: int = 100, timeout: float = 20.0, run_timeout: float = 1800.0,
                 state: JobState | None = None) -> dict:
    """Copy the package's ARM64 bundle to the board, run it, return run.sh's JSON plus where it ran."""
    remote = remote if isinstance(remote, Remote) else parse_remote(remote)
    bundle = find_bundle(package)
    prefix = os.environ.get(PREFIX_ENV, "") if prefix is None else prefix
    state = state or JobState()
    state.set_progress(0.0, f"connecting to {remote}")
    client = _connect(remote, key, known_hosts, timeout)
    folder = ""
    try:
        code, machine, _ = _exec(client, "uname -m", timeout)
        host_machine = machine.strip() or "unknown"
        binfmt = _exec(client, "test -e /proc/sys/fs/binfmt_misc/qemu-aarch64", timeout)[0] == 0
        if host_machine != "aarch64" and not prefix and not binfmt:
            raise RemoteBenchError(f"{remote.host} is a {host_machine} machine, not aarch64: the bundle needs 64-bit "
                                   f"ARM Linux (or set {PREFIX_ENV} to an emulator for testing)")
        state.check()
        code, made, err = _exec(client, "mktemp -d /tmp/edge-studio-bench.XXXXXX", timeout)
        folder = made.strip()
        if code != 0 or not folder.startswith("/tmp/edge-studio-bench."):
            raise RemoteBenchError(f"{remote.host}: cannot make a folder in /tmp: {err.strip() or made.strip()}")
        state.set_progress(0.1, f"copying the bundle to {remote.host}")
        sent = _upload(client, bundle, folder, max(timeout, 60.0))
        state.check()
        state.set_progress(0.4, f"running the bundle on {remote.host}")
        env = f"{PREFIX_ENV}={shlex.quote(prefix)} " if prefix else ""
        command = (f"cd {shlex.quote(folder)} && {env}sh run.sh --threads {int(threads)} --warmup {int(warmup)} "
                   f"--runs {int(runs)}")
        code, out, err = _exec(client, command, run_timeout)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if code not in (0, 1) or not lines:
            why = [ln for ln in err.splitlines() if ln.strip()][-1:] or [f"exit status {code}"]
            raise RemoteBenchError(f"run.sh failed on {remote.host}: {why[0].strip()}")
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError as exc:
            raise RemoteBenchError(f"run.sh on {remote.host} printed no valid JSON ({exc})") from None
    finally:
        if folder.startswith("/tmp/edge-studio-bench."):  # never leave the copy behind on the board
            try:
                _exec(client, f"rm -rf {shlex.quote(folder)}", timeout)
            except Exception:  # noqa: BLE001 - the connection may be gone; the error above matters more
                pass
        client.close()
    emulated = host_machine != "aarch64"
    system = result.get("system", {})
    result.update({"remote": str(remote), "host": remote.host, "host_machine": host_machine, "emulated": emulated,
                   "uploaded_bytes": sent, "checks_ok": code == 0,
                   "label": _label(remote.host, system, host_machine, emulated)})
    state.set_progress(1.0, "done")
    return result


def profile_rows(result: dict) -> list[dict]:
    """One row per model for the Profile page's device tier: measured latency and where."""
    rows = []
    for entry in result.get("results", []):
        bench = entry.get("bench", {})
        rows.append({"model": Path(bench.get("model", "?")).name, "precision": entry.get("precision", ""),
                     "threads": bench.get("threads"), "p50_ms": bench.get("p50_ms"), "p90_ms": bench.get("p90_ms"),
                     "p99_ms": bench.get("p99_ms"), "check_ok": bench.get("check", {}).get("ok"),
                     "error": bench.get("error", ""), "label": result.get("label", "")})
    return rows
