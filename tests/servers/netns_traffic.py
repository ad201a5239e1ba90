#!/usr/bin/env python3
"""Traffic for the live-capture test, run inside its network namespaces.

  serve ADDR          UDP echo on ADDR:7000, TCP echo on ADDR:7001 (until killed)
  udp DST N [PORT]    N UDP flows (source ports PORT.., default 20000), one datagram each way
  tcp DST N           N TCP connections: handshake, one message each way, close
  hold DST            one TCP connection left open (until killed)
  dns ADDR ANSWER     a DNS server on ADDR:53 answering every A question with ANSWER
  query SERVER NAME   one A question for NAME to SERVER:53, waits for the answer
"""
import socket
import struct
import sys
import threading
import time


def serve(addr):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, 7000))

    def udp():
        while True:
            data, peer = u.recvfrom(2048)
            u.sendto(data, peer)

    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 7001))
    t.listen(64)

    def conn(c):
        with c:
            while True:
                data = c.recv(2048)
                if not data:
                    return
                c.sendall(data)

    threading.Thread(target=udp, daemon=True).start()
    print("ready", flush=True)
    while True:
        c, _ = t.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()


def udp(dst, n, first=20000):
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", first + i))
        s.settimeout(2)
        s.sendto(b"udp flow %d" % i, (dst, 7000))
        s.recvfrom(2048)
        s.close()


def tcp(dst, n):
    for i in range(n):
        s = socket.create_connection((dst, 7001), timeout=2)
        s.sendall(b"tcp flow %d" % i)
        s.recv(2048)
        s.close()


def hold(dst):
    s = socket.create_connection((dst, 7001), timeout=2)
    s.sendall(b"still open")
    s.recv(2048)
    print("held", flush=True)
    while True:
        time.sleep(60)


def dns(addr, answer):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    print("ready", flush=True)
    while True:
        q, peer = s.recvfrom(512)
        end = 12
        while q[end] != 0:
            end += q[end] + 1
        question = q[12:end + 5]
        head = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + socket.inet_aton(answer)
        s.sendto(head + question + rr, peer)


def query(server, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    s.sendto(struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1), (server, 53))
    s.recvfrom(512)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "serve":
        serve(sys.argv[2])
    elif mode == "udp":
        udp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 20000)
    elif mode == "tcp":
        tcp(sys.argv[2], int(sys.argv[3]))
    elif mode == "hold":
        hold(sys.argv[2])
    elif mode == "dns":
        dns(sys.argv[2], sys.argv[3])
    elif mode == "query":
        query(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown mode " + mode)
