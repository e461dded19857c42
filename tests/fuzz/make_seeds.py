#!/usr/bin/env python3
"""make_seeds.py - (re)write the seed corpora of tests/fuzz/corpus/.

  make_seeds.py [ACC_CCL_TOPO]

Seeds are committed; this script documents how they were made. The graph
and extra topology seeds need the acc-ccl-topo tool of a build tree (its
path as the argument); without it only the others are written.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
TOP = os.path.join(HERE, "..", "..")

SECRET = bytes([0x5e, 0xc2, 0xe7, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc])
HELLO_MAGIC = 0x6f6c6c65486c6363
ID_MAGIC = 0x44494341
ROOT, RING, P2P = 1, 2, 3
M64 = (1 << 64) - 1


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --------------------------------------------------------------- unique id

def id_checksum(b):
    h = 0xcbf29ce484222325
    for c in b:
        h ^= c
        h = (h * 0x100000001b3) & M64
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & M64
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & M64
    h ^= h >> 31
    return h


def unique_id(family=2, port=29500, addr=bytes([127, 0, 0, 1]), secret=SECRET, flags=0, version=1, magic=ID_MAGIC):
    body = struct.pack("<IHH", magic, version, family) + struct.pack(">H", port) + bytes([flags]) + bytes(5)
    body += addr.ljust(16, b"\0") + secret + bytes(72)
    assert len(body) == 120
    return body + struct.pack("<Q", id_checksum(body))


def seeds_unique_id():
    write("unique_id", "ipv4", unique_id())
    write("unique_id", "ipv6", unique_id(family=10, addr=bytes(15) + b"\1"))
    write("unique_id", "local-flag", unique_id(flags=1))
    write("unique_id", "port0", unique_id(port=0))
    write("unique_id", "family7", unique_id(family=7))
    write("unique_id", "version2", unique_id(version=2))
    bad = bytearray(unique_id())
    bad[40] ^= 0x10
    write("unique_id", "bitflip", bytes(bad))
    write("unique_id", "zeros", bytes(128))
    write("unique_id", "short", unique_id()[:60])


# --------------------------------------------------------------- bootstrap

def addr_wire(port=0, ip=(127, 0, 0, 1), family=2):
    return struct.pack("<H", family) + struct.pack(">H", port) + bytes(ip).ljust(16, b"\0")


# mac all zero: the harness fills in the MAC of the root's challenge under the
# job's secret (a rank holding the secret); anything else is sent as is
def hello(kind=ROOT, rank=0, nranks=1, mac=bytes(16), magic=HELLO_MAGIC, port=40000):
    h = struct.pack("<Q", magic) + mac + struct.pack("<iiii", kind, rank, nranks, 0) + addr_wire(port) + bytes(4)
    assert len(h) == 64
    return h


def frames(*fs):
    out = b""
    for f in fs:
        out += bytes([len(f)]) + f
    return out


def reply(status=0, nranks=1, magic=HELLO_MAGIC, nonce=bytes(range(16))):
    return struct.pack("<Qii", magic, status, nranks) + nonce


def msg(tag, data, size=None):
    return struct.pack("<iIQ", tag, 0, len(data) if size is None else size) + data


def seeds_bootstrap():
    w = lambda name, mode, data: write("bootstrap", name, bytes([mode]) + data)
    # mode 0: the root
    w("root-one-rank", 0, frames(hello()))
    w("root-two-ranks", 0, frames(hello(rank=0, nranks=2), hello(rank=1, nranks=2, port=40001)))
    w("root-two-of-three", 0, frames(hello(rank=0, nranks=3), hello(rank=2, nranks=3)))
    w("root-same-rank-twice", 0, frames(hello(rank=0, nranks=2), hello(rank=0, nranks=2)))
    w("root-nranks-mismatch", 0, frames(hello(rank=0, nranks=2), hello(rank=1, nranks=3)))
    w("root-huge-nranks", 0, frames(hello(nranks=2**31 - 1)))
    w("root-max-ranks", 0, frames(hello(nranks=1 << 20, rank=(1 << 20) - 1)))
    w("root-negative-rank", 0, frames(hello(rank=-1, nranks=2)))
    w("root-ring-kind", 0, frames(hello(kind=RING)))
    w("root-wrong-secret", 0, frames(hello(mac=bytes([0xab] * 16))))
    w("root-bad-magic", 0, frames(hello(magic=0x1234)))
    w("root-truncated", 0, frames(hello()[:40]))
    w("root-replayed", 0, frames(hello(mac=bytes(range(16)))))
    w("root-garbage", 0, frames(bytes(range(200)), b"GET / HTTP/1.0\r\n\r\n"))
    w("root-empty-conns", 0, frames(b"", b"", b""))
    # mode 1: a rank reading the root's reply (nranks 1)
    w("reply-ok", 1, reply() + addr_wire(40000))
    w("reply-timeout", 1, reply(status=8) + b"\0")
    w("reply-refused", 1, reply(status=5, nranks=2))
    w("reply-refused-system", 1, reply(status=2))
    w("reply-wrong-nranks", 1, reply(nranks=7) + addr_wire() * 7)
    w("reply-bad-magic", 1, reply(magic=1))
    w("reply-short", 1, reply()[:10])
    w("reply-no-table", 1, reply())
    w("reply-ipv6-entry", 1, reply() + addr_wire(40000, ip=bytes(15) + b"\1", family=10))
    # mode 2: a rank reading bootstrap messages from rank 1
    w("msgs-in-order", 2, msg(7, bytes(range(16))) + msg(9, bytes(8)))
    w("msgs-stashed", 2, msg(9, bytes(8)) + msg(7, bytes(16)))
    w("msgs-other-tags", 2, msg(3, b"abc") + msg(4, bytes(100)) + msg(7, bytes(16)) + msg(9, bytes(8)))
    w("msgs-wrong-size", 2, msg(7, bytes(15)))
    w("msgs-huge-size", 2, msg(7, b"", size=1 << 40))
    # a peer's stashed message of 2^64-8 bytes: malloc(header + size) wrapped
    # and stashPush wrote past a 16-byte block (C4, found by fuzz_bootstrap,
    # fixed): a seed, and a regression input that test_bootstrap_peer replays
    stash_overflow = msg(3, bytes(64), size=M64 - 7)
    w("msgs-stash-size-overflow", 2, stash_overflow)
    d = os.path.join(HERE, "regressions", "bootstrap")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "stash-size-overflow"), "wb") as f:
        f.write(bytes([2]) + stash_overflow)
    w("msgs-truncated", 2, msg(7, bytes(16))[:10])
    w("msgs-empty", 2, b"")


# --------------------------------------------------------------- topology and graph XML

def seeds_xml(tool):
    topo_dir = os.path.join(TOP, "docs", "topologies")
    for f in sorted(os.listdir(topo_dir)):
        if f.endswith(".xml"):
            shutil.copy(os.path.join(topo_dir, f), os.path.join(CORPUS, "topo_xml", f))
    write("topo_xml", "minimal.xml", b'<node name="one"><device id="0"/></node>\n')
    write("topo_xml", "entities.xml", b'<?xml version="1.0"?>\n<!-- c -->\n<node name="a&amp;b&lt;&gt;&quot;&apos;" '
                                      b'rows="1" cols="2">\n  <device id="0" pci="x" numa="-1"/>\n  <device id="1"/>\n'
                                      b'  <link a="0" b="1" bw="1.5e2" lat="0.5"/>\n</node>\n')
    write("topo_xml", "bad-nesting.xml", b'<node><device id="0"><link a="0" b="0"/></device></node>\n')
    if not tool:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for spec, dev in (("ring", 4), ("torus2d", 16), ("full", 8)):
            out = os.path.join(tmp, "n.xml")
            subprocess.run([tool, "--topo", spec, "--devices", str(dev), "--dump", out], check=True,
                           stdout=subprocess.DEVNULL)
            shutil.copy(out, os.path.join(CORPUS, "topo_xml", "gen-%s%d.xml" % (spec, dev)))
        for spec, dev, nodes, ranks in (("ring", 4, 1, 4), ("ring", 4, 2, 4), ("ring", 4, 4, 4), ("torus2d", 8, 1, 8),
                                        ("full", 2, 1, 2), ("ring", 4, 2, 3), ("full", 8, 1, 16)):
            n = nodes * ranks
            if n > 16 or nodes > 4:
                continue
            out = os.path.join(tmp, "g.xml")
            subprocess.run([tool, "--topo", spec, "--devices", str(dev), "--nodes", str(nodes), "--ranks", str(ranks),
                            "--graph", out], check=True, stdout=subprocess.DEVNULL)
            with open(out, "rb") as f:
                text = f.read()
            write("graph_xml", "%s%d-%dx%d.xml" % (spec, dev, nodes, ranks), bytes([(n - 1) | ((nodes - 1) << 4)]) + text)


def main(argv):
    for t in ("unique_id", "bootstrap", "topo_xml", "graph_xml"):
        os.makedirs(os.path.join(CORPUS, t), exist_ok=True)
    seeds_unique_id()
    seeds_bootstrap()
    seeds_xml(argv[0] if argv else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
