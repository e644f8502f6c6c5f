"""Loopback checks shared by config validation and the open-by-default rule."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_address(address: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1 (also an IPv4-mapped ::ffff:127.x.y.z)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_loopback_host(host: str) -> bool:
    """A host name or address that never leaves this machine."""
    return host.lower().rstrip(".") in LOOPBACK_NAMES or is_loopback_address(host.strip("[]"))
