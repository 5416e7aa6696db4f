#!/usr/bin/env python3
"""Canary servers for the test host's upstream network namespace.

    canary.py --log FILE [--tcp-port 80 --tcp-port 443] [--udp-port 443] [--label ADDR=NAME ...]

Listens on the wildcard addresses (v4 and v6) of the namespace it runs in, so
every canary address on the namespace answers. Each TCP connection gets one
line naming the address reached ("canary <addr> <label>"), wrapped in a
minimal HTTP/1.0 response when the client spoke HTTP (so curl works). Every
TCP connection and UDP datagram is logged, one line each, as

    <iso-time> proto=tcp src=<ip> sport=<p> dst=<ip> dport=<p> label=<name> req="<first line>" host=<Host>

so tests can assert that a canary was, or was NOT, reached.
"""
import argparse
import asyncio
import datetime
import ipaddress
import os
import socket
import sys

LABELS = {}
LOG = None


def norm(addr):
    """Strip the v4-mapped prefix so logs show plain IPv4 addresses."""
    try:
        ip = ipaddress.ip_address(addr.split("%")[0])
    except ValueError:
        return addr
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ip)


def log(proto, src, dst, req="", host=""):
    ts = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    label = LABELS.get(dst[0], "other")
    req = req.replace('"', "'")
    line = (f'{ts} proto={proto} src={src[0]} sport={src[1]} dst={dst[0]} dport={dst[1]} '
            f'label={label} req="{req}" host={host or "-"}\n')
    LOG.write(line)
    LOG.flush()


async def handle(reader, writer):
    peer = writer.get_extra_info("peername")
    sock = writer.get_extra_info("sockname")
    src = (norm(peer[0]), peer[1])
    dst = (norm(sock[0]), sock[1])
    reply = f"canary {dst[0]} {LABELS.get(dst[0], 'other')}\n"
    req, host, http = "", "", False
    try:
        # Wait briefly for a request; a bare connect (nc -z, TLS hello) still counts.
        first = await asyncio.wait_for(reader.readline(), timeout=2)
        req = first.decode("latin-1").strip()
        http = " HTTP/" in req
        if http:
            while True:
                line = await asyncio.wait_for(reader.readline(), timeout=2)
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                if k.strip().lower() == "host":
                    host = v.strip()
    except (asyncio.TimeoutError, ConnectionError):
        pass
    if not req.isprintable():
        req = "<binary>"
    log("tcp", src, dst, req[:200], host)
    try:
        if http:
            body = reply.encode()
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: " + str(len(body)).encode() +
                         b"\r\nConnection: close\r\n\r\n" + body)
        else:
            writer.write(reply.encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except ConnectionError:
        pass


class Udp(asyncio.DatagramProtocol):
    def __init__(self, port):
        self.port = port

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        # The local address of a wildcard UDP socket is not known without
        # IP_PKTINFO; the port identifies the service, the log says "udp".
        log("udp", (norm(addr[0]), addr[1]), ("*", self.port), f"{len(data)} bytes")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tcp-port", type=int, action="append")
    ap.add_argument("--udp-port", type=int, action="append")
    ap.add_argument("--label", action="append", default=[], help="ADDR=NAME")
    ap.add_argument("--ready", help="file to create once listening")
    args = ap.parse_args()
    global LOG
    LOG = open(args.log, "a", buffering=1)
    for item in args.label:
        a, _, n = item.partition("=")
        LABELS[norm(a)] = n
    loop = asyncio.get_running_loop()
    servers = []
    for port in args.tcp_port or [80, 443]:
        # Separate v4 and v6 wildcard sockets (asyncio sets IPV6_V6ONLY).
        servers.append(await asyncio.start_server(handle, host=["0.0.0.0", "::"], port=port,
                                                  reuse_address=True))
    for port in args.udp_port or [443]:
        for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((host, port))
            await loop.create_datagram_endpoint(lambda p=port: Udp(p), sock=s)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write(f"{os.getpid()}\n")
    print(f"canary listening (pid {os.getpid()})", file=sys.stderr, flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
