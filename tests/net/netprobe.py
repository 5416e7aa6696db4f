#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Canaries and probes for tests/net/test-egress.sh (run inside namespaces the test creates).

  netprobe.py serve LOG PORT...        TCP and UDP servers on [::]:PORT (dual stack); each TCP connection
                                       gets "canary <local address>\\n", each UDP datagram the same back;
                                       every hit is logged as "proto dst dport src" to LOG
  netprobe.py tcp ADDR PORT [SRC]      connect (from SRC if given), print the greeting; exit 1 on failure
  netprobe.py udp ADDR PORT            send a datagram, print the reply; exit 1 on failure
  netprobe.py dns SERVER NAME          A query over UDP; print the addresses, "NXDOMAIN", or "RCODE n"
"""
import os
import selectors
import socket
import struct
import sys

TIMEOUT = 2.0


def serve(log, ports):
    sel = selectors.DefaultSelector()
    for p in ports:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET6, kind)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Canary addresses are on lo; answer for all of them with the address asked for.
            s.bind(("::", p))
            if kind == socket.SOCK_STREAM:
                s.listen(64)
            else:
                # Answer from the address asked for, or NAT on the way back cannot match the reply.
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            sel.register(s, selectors.EVENT_READ, kind)
    with open(log, "a", buffering=1) as f:
        print("ready", flush=True)
        while True:
            for key, _ in sel.select():
                s = key.fileobj
                if key.data == socket.SOCK_STREAM:
                    c, peer = s.accept()
                    local = c.getsockname()
                    dst = local[0].removeprefix("::ffff:")
                    f.write(f"tcp {dst} {local[1]} {peer[0].removeprefix('::ffff:')}\n")
                    try:
                        c.sendall(f"canary {dst}\n".encode())
                    except OSError:
                        pass
                    c.close()
                else:
                    data, anc, _, peer = s.recvmsg(512, 256)
                    pkt = [d for lvl, t, d in anc if lvl == socket.IPPROTO_IPV6 and t == socket.IPV6_PKTINFO]
                    dst = socket.inet_ntop(socket.AF_INET6, pkt[0][:16]).removeprefix("::ffff:") if pkt else "?"
                    f.write(f"udp {dst} {s.getsockname()[1]} {peer[0].removeprefix('::ffff:')}\n")
                    anc_out = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pkt[0][:16] + bytes(4))] if pkt else []
                    s.sendmsg([f"canary {dst}\n".encode()], anc_out, 0, peer)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tcp(addr, port, src=None):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if src:
        s.bind((src, 0))
    s.connect((addr, int(port)))
    print(s.recv(200).decode().strip())


def udp(addr, port):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(b"probe", (addr, int(port)))
    print(s.recv(200).decode().strip())


def dns(server, name):
    qid = os.getpid() & 0xFFFF
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(family(server), socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(q, (server, 53))
    r = s.recv(4096)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", r[:12])
    rcode = flags & 0xF
    if rcode == 3:
        print("NXDOMAIN")
        return
    if rcode:
        print(f"RCODE {rcode}")
        return
    i = 12
    for _ in range(qd):
        while r[i]:
            i += r[i] + 1
        i += 5
    out = []
    for _ in range(an):
        if r[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while r[i]:
                i += r[i] + 1
            i += 1
        typ, _, _, rdlen = struct.unpack(">HHIH", r[i:i + 10])
        i += 10
        if typ == 1:
            out.append(socket.inet_ntoa(r[i:i + rdlen]))
        i += rdlen
    print(" ".join(out) if out else "NODATA")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "serve":
            serve(args[0], [int(p) for p in args[1:]])
        elif cmd == "tcp":
            tcp(*args)
        elif cmd == "udp":
            udp(*args)
        elif cmd == "dns":
            dns(*args)
        else:
            sys.exit(f"unknown command {cmd}")
    except (OSError, socket.timeout) as e:
        print(f"failed: {e}", file=sys.stderr)
        sys.exit(1)


main()
