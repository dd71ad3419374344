"""A private test network like a compose project's: one Linux network namespace per service, each with its own
address on a bridge and an /etc/hosts naming every service, so `worker:9100` means what it means under Docker.

Addresses are 10.213.N.0/24 (N free on this machine), on a bridge the test creates; the namespaces have no
default route, so nothing in them can reach beyond the bridge. The bridge's own address (.1, like Docker's
gateway on the host) lets the test process reach the services. `ip netns exec NS` bind-mounts
/etc/netns/NS/hosts over /etc/hosts for the command it runs (iproute2's standard mechanism). Everything is deleted
on exit, and a network left by a killed run is deleted by the next one (its owner pid is recorded under /run).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.brokers.base import _pid_alive  # the brokers' own stale-run check, reused

SUBNET_PREFIX = "10.213"
STATE_DIR = Path("/run/cckpi-compose-net")
NETNS_ETC = Path("/etc/netns")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `ip ARGS`; raise with its stderr when `check` and it fails."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def require_netns() -> None:
    """Fail (never skip) with the reason when network namespaces cannot be made here."""
    if shutil.which("ip") is None:
        pytest.fail("`ip` (iproute2) not found: apt-get install -y iproute2 (.ci/run does it on a bare machine)")
    if os.geteuid() != 0:
        pytest.fail("the native compose test creates network namespaces: it needs root")


@dataclass
class Network:
    """The namespaces of one test network: name -> address and namespace."""

    index: int
    services: Sequence[str]
    addresses: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        return f"ckbr{self.index}"

    @property
    def gateway(self) -> str:
        return f"{SUBNET_PREFIX}.{self.index}.1"

    def exec_prefix(self, service: str) -> list[str]:
        """argv prefix that runs a command inside `service`'s namespace (with its /etc/hosts) and, as in a
        container, with the service's name as its hostname (a UTS namespace of its own). Each step `exec`s, so
        the PID is the command's."""
        return ["ip", "netns", "exec", self.namespaces[service],
                "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', service]

    def hosts_file(self) -> str:
        """The /etc/hosts every namespace sees: localhost and every service by name."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{addr}\t{name}" for name, addr in self.addresses.items()]
        return "\n".join(lines) + "\n"


def _names(index: int, services: Sequence[str]) -> dict[str, str]:
    return {svc: f"ckc{index}-{svc}"[:40] for svc in services}


def _used_indexes() -> set[int]:
    """Third octets of 10.213.x.y addresses already configured on this machine."""
    out = ip("-o", "-4", "addr", "show", check=False).stdout
    used = set()
    for word in out.split():
        if word.startswith(f"{SUBNET_PREFIX}."):
            with contextlib.suppress(ValueError, IndexError):
                used.add(int(word.split(".")[2]))
    return used


def _teardown(index: int, namespaces: Sequence[str]) -> None:
    """Delete the namespaces (their veth ends go with them), the bridge, hosts files and the owner record."""
    for ns in namespaces:
        ip("netns", "del", ns, check=False)
        shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
    ip("link", "del", f"ckbr{index}", check=False)
    (STATE_DIR / f"{index}.owner").unlink(missing_ok=True)


def _reap_stale() -> None:
    """Delete networks whose owning test process is gone (killed before it could clean up)."""
    for record in STATE_DIR.glob("*.owner"):
        try:
            pid_text, *namespaces = record.read_text().split()
            index = int(record.stem)
        except (OSError, ValueError):
            continue
        if not _pid_alive(int(pid_text)):
            _teardown(index, namespaces)


@contextlib.contextmanager
def compose_network(services: Sequence[str]) -> Iterator[Network]:
    """A bridge 10.213.N.0/24 with one namespace per service (addresses .10, .11, ...); deleted on exit."""
    require_netns()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with (STATE_DIR / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _reap_stale()
        used = _used_indexes() | {int(p.stem) for p in STATE_DIR.glob("*.owner") if p.stem.isdigit()}
        index = next(i for i in range(10, 250) if i not in used)
        net = Network(index, list(services), namespaces=_names(index, services))
        (STATE_DIR / f"{index}.owner").write_text(" ".join([str(os.getpid()), *net.namespaces.values()]))
    try:
        _build(net)
        yield net
    finally:
        _teardown(index, list(net.namespaces.values()))


def _build(net: Network) -> None:
    """Create the bridge, then each namespace with loopback up, a veth on the bridge and the hosts file."""
    ip("link", "add", net.bridge, "type", "bridge")
    ip("addr", "add", f"{net.gateway}/24", "dev", net.bridge)
    ip("link", "set", net.bridge, "up")
    for n, svc in enumerate(net.services):
        ns, outer, inner = net.namespaces[svc], f"ck{net.index}h{n}", f"ck{net.index}n{n}"
        address = f"{SUBNET_PREFIX}.{net.index}.{10 + n}"
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("link", "set", inner, "netns", ns)
        ip("link", "set", outer, "master", net.bridge)
        ip("link", "set", outer, "up")
        ip("-n", ns, "link", "set", inner, "name", "eth0")
        ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        net.addresses[svc] = address
    for ns in net.namespaces.values():
        (NETNS_ETC / ns).mkdir(parents=True, exist_ok=True)
        (NETNS_ETC / ns / "hosts").write_text(net.hosts_file())
