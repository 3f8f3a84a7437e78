#!/usr/bin/env python3
"""spartus_uart.py - host side of the spartus-gen UART board top (docs/board.md).

Streams an input sequence x (int16 Q8.8, shape [T, I]) to the board one time step at a time
and prints h_t (int16 Q8.8 and real value) for every step; optionally compares with expected
outputs, and prints the accelerator's counters at the end.

NOT TESTED ON HARDWARE: no board was attached where this was written. It is tested against
the simulated bridge instead: testbenches/verilator/tb_uart.cpp with +tcp=PORT serves the
Verilated RTL's UART pins on a TCP socket (--port tcp:127.0.0.1:PORT), see
crates/spartus-gen/tests/board_uart.rs.

Usage:
  python3 scripts/spartus_uart.py --port /dev/ttyUSB1 --vectors hdl_out/tiny-board/vectors
  python3 scripts/spartus_uart.py --port /dev/ttyUSB0 --x x_q.npy [--expect h_q.hex]

  --port PORT     serial device (iCEBreaker: the second FTDI interface, usually
                  /dev/ttyUSB1; ULX3S: /dev/ttyUSB0), any pyserial URL, or
                  tcp:HOST:PORT for the simulated bridge (tb_uart +tcp=PORT; no pyserial)
  --baud N        baud rate of the bitstream (default 115200)
  --vectors DIR   a gen output's vectors/ folder: x_q.hex in, h_q.hex expected
  --x FILE        inputs instead: .hex (4 hex digits per line, T*I lines) or .npy int16 [T, I]
                  (quantize real-valued inputs first: `gen vectors <config> --inputs x.npy`
                  writes vectors/x_q.npy)
  --expect FILE   expected h (.hex or int16 .npy [T, H]); mismatches are reported, exit 1
  --steps N       only the first N steps
  --reset         send 'R' (reset, counters cleared) instead of 'S' before the sequence
  --quiet         print only the summary

Needs python3 and, for serial ports, pyserial (`pip install pyserial`); numpy is not needed.
Exit code: 0 ok, 1 mismatches, 2 usage or communication error.
"""

import argparse
import ast
import struct
import sys

TIMEOUT_S = 2.0


def die(msg):
    print(f"spartus_uart: error: {msg}", file=sys.stderr)
    sys.exit(2)


def read_hex(path):
    words = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                v = int(line, 16)
            except ValueError:
                die(f"{path}:{n}: not a hex word: {line!r}")
            if not 0 <= v <= 0xFFFF:
                die(f"{path}:{n}: {line!r} does not fit 16 bits")
            words.append(v - 0x10000 if v >= 0x8000 else v)
    return words


def read_npy_int16(path):
    """Minimal .npy reader: little-endian int16, C order, 2-D. Returns (rows, cols, flat)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        die(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen = struct.unpack("<H", data[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", data[8:12])[0]
        start = 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header.get("descr") not in ("<i2", "|i2") or header.get("fortran_order"):
        die(f"{path}: need a C-order int16 array (descr {header.get('descr')!r}); quantize first")
    shape = header.get("shape")
    if len(shape) != 2:
        die(f"{path}: need shape [T, n], got {shape}")
    body = data[start + hlen:]
    n = shape[0] * shape[1]
    if len(body) < 2 * n:
        die(f"{path}: truncated")
    return shape[0], shape[1], list(struct.unpack(f"<{n}h", body[:2 * n]))


def load(path):
    if path.endswith(".npy"):
        return read_npy_int16(path)[2]
    return read_hex(path)


class TcpPort:
    """The simulated UART of tb_uart +tcp=PORT, with the two calls of pyserial used here."""

    def __init__(self, spec):
        import socket
        host, _, port = spec.rpartition(":")
        try:
            self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT_S)
        except (OSError, ValueError) as e:
            die(f"cannot connect to tcp:{spec}: {e}")
        self.sock.settimeout(TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def write(self, data):
        self.sock.sendall(data)

    def flush(self):
        pass

    def read(self, n):
        import socket
        out = b""
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out

    def close(self):
        self.sock.close()


class Bridge:
    def __init__(self, port, baud):
        if port.startswith("tcp:"):
            self.s = TcpPort(port[4:])
            return
        try:
            import serial  # pyserial
        except ImportError:
            die("pyserial is not installed: pip install pyserial")
        try:
            self.s = serial.serial_for_url(port, baudrate=baud, bytesize=8, parity="N",
                                           stopbits=1, timeout=TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - report any open failure plainly
            die(f"cannot open {port}: {e}")
        self.s.reset_input_buffer()

    def command(self, payload, reply_len, what):
        """Sends one command and waits for its complete, fixed-length reply (lock-step: the
        bridge has no flow control, so the next command must wait for this reply)."""
        self.s.write(payload)
        self.s.flush()
        r = self.s.read(reply_len)
        if len(r) != reply_len:
            die(f"{what}: got {len(r)} of {reply_len} reply bytes within {TIMEOUT_S} s "
                f"(wrong port or baud rate, or the bridge is out of step: wait 1 s and send 'S')")
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--vectors")
    ap.add_argument("--x")
    ap.add_argument("--expect")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if bool(a.vectors) == bool(a.x):
        die("give exactly one of --vectors DIR and --x FILE")
    x_path = a.x or f"{a.vectors}/x_q.hex"
    expect_path = a.expect or (f"{a.vectors}/h_q.hex" if a.vectors else None)
    xs = load(x_path)
    expect = load(expect_path) if expect_path else None

    b = Bridge(a.port, a.baud)
    ident = b.command(b"I", 7, "'I' (identify)")
    if ident[:2] != b"SP":
        die(f"'I' reply {ident.hex()} does not start with 'SP': not a spartus-gen bridge?")
    n_in, n_out = struct.unpack("<HH", ident[2:6])
    flags = ident[6]
    print(f"bridge: I = {n_in}, H = {n_out}, error flags {flags:#x}")
    if len(xs) % n_in:
        die(f"{x_path}: {len(xs)} words is not a multiple of I = {n_in}")
    steps = len(xs) // n_in
    if a.steps is not None:
        steps = min(steps, a.steps)
    if expect is not None and len(expect) < steps * n_out:
        die(f"{expect_path}: {len(expect)} words, need {steps} * H = {steps * n_out}")

    if a.reset:
        b.command(b"R", 1, "'R' (reset)")
    else:
        b.command(b"S", 1, "'S' (start sequence)")
    mismatches = 0
    for t in range(steps):
        frame = b"X" + struct.pack(f"<{n_in}h", *xs[t * n_in:(t + 1) * n_in])
        h = struct.unpack(f"<{n_out}h", b.command(frame, 2 * n_out, f"step {t}"))
        bad = []
        if expect is not None:
            want = expect[t * n_out:(t + 1) * n_out]
            bad = [k for k in range(n_out) if h[k] != want[k]]
            mismatches += len(bad)
        if not a.quiet:
            vals = " ".join(f"{v:6d}" for v in h)
            print(f"t={t:5d} h = {vals}   ({' '.join(f'{v / 256:+.4f}' for v in h)})"
                  + (f"   MISMATCH at k = {bad}" if bad else ""))
    q = struct.unpack("<4I", b.command(b"Q", 16, "'Q' (counters)"))
    print(f"counters: stat_cycles {q[0]}, stat_deltas {q[1]}, stat_steps {q[2]}, "
          f"stat_step_cycles {q[3]}")
    if expect is not None:
        print(f"{steps} steps, {steps * n_out} h words, {mismatches} mismatches")
    b.s.close()
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
