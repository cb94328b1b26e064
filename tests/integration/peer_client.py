# tests/integration/peer_client.py: a small client of shoal's peer protocol
# (client/wire.h), written from the documentation (docs/cluster.md), for the
# tests: it checks the daemon against the protocol's text rather than
# against the C codec it shares with itself.
import base64
import hashlib
import hmac
import os
import socket
import struct

import msgpack

MAGIC = b"SHOALP1\n"
HELLO, CHALLENGE, AUTH, WELCOME, VIEW, GET, BLOCK, DATA, END = range(1, 10)
PUT, DONE, HOLDS, HELD, META_GET, META, META_PUT, META_DEL, ERROR = range(10, 19)


def load_key(path):
    """The first key of a key file (base64 or hex), 32 bytes."""
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        return bytes.fromhex(line) if len(line) == 64 else base64.b64decode(line)
    raise ValueError("no key in " + path)


def insecure_key(cluster):
    return hashlib.sha256(b"shoal insecure key/" + cluster.encode()[:64]).digest()


def peer_key(cluster_key):
    return hashlib.sha256(b"shoal peer key/1" + cluster_key).digest()


def mac(key, side, cluster, verifier_nonce, prover_nonce):
    c = cluster.encode()
    msg = b"shoal-peer-1/" + side + bytes([len(c)]) + c + verifier_nonce + prover_nonce
    return hmac.new(key, msg, hashlib.sha256).digest()


class Closed(Exception):
    pass


class Peer:
    def __init__(self, addr, cluster, key, block_size, timeout=5.0):
        host, port = addr.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=timeout)
        self.cluster, self.key, self.block_size = cluster, key, block_size
        self.buf = b""

    def send(self, obj):
        body = msgpack.packb(obj, use_bin_type=True)
        self.s.sendall(struct.pack(">I", len(body)) + body)

    def recv(self):
        """The next frame as a list; Closed when the node closes."""
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            try:
                d = self.s.recv(1 << 20)
            except (ConnectionResetError, socket.timeout):
                d = b""
            if not d:
                raise Closed()
            self.buf += d
        n = struct.unpack(">I", self.buf[:4])[0]
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return msgpack.unpackb(body, raw=False)

    def handshake(self, epoch=0, auth_mac=None):
        """HELLO, CHALLENGE (checked against our key), AUTH. Returns the
        CHALLENGE frame and whether its proof held."""
        nonce = os.urandom(32)
        self.s.sendall(MAGIC)
        self.send([HELLO, 0, 1, self.cluster, None, epoch, nonce, self.block_size])
        ch = self.recv()
        if ch[0] != CHALLENGE:
            return ch, False
        snonce, smac = ch[5], ch[6]
        proved = hmac.compare_digest(smac, mac(self.key, b"s", self.cluster, nonce, snonce))
        if auth_mac is None:
            auth_mac = mac(self.key, b"c", self.cluster, snonce, nonce)
        self.send([AUTH, 0, auth_mac])
        return ch, proved

    def types_until_closed(self):
        """The types of the frames that come before the node closes."""
        got = []
        try:
            while True:
                got.append(self.recv()[0])
        except Closed:
            pass
        return got

    def get(self, rid, epoch, bucket, key, etag, size, index, off, length):
        self.send([GET, rid, epoch, 0, bucket, key, etag, size, index, off, length])

    def close(self):
        self.s.close()
