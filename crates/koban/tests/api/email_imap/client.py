"""The tests' IMAP client: Python's imaplib, a real client independent of
Koban's, puts mail into Dovecot and changes its mailboxes.

Usage: client.py '{"port": 1430, "user": "desk", "password": "…",
                   "ops": [["append", "INBOX", "/path/mail.eml"],
                           ["create", "Support"], ["delete", "Support"]]}'
Prints a JSON list with each operation's answer.
"""

import base64
import imaplib
import json
import ssl
import sys
import time


def utf7(name):
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), written
    from Python's own UTF-16 and base64, apart from Koban's encoder."""
    out, run = [], ""

    def flush():
        nonlocal run
        if run:
            b64 = base64.b64encode(run.encode("utf-16-be")).decode()
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            run = ""

    for c in name:
        if " " <= c <= "~":
            flush()
            out.append("&-" if c == "&" else c)
        else:
            run += c
    flush()
    return "".join(out)


def quoted(name):
    return '"' + utf7(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


# Dovecot's transient refusals of an APPEND right after a mailbox was
# deleted and created again while another session (Koban's poller) still
# had the old one selected: that session rewrites the new index once, and
# an APPEND racing it is answered "Mailbox was deleted under us", or, when
# the two index logs collide, "[SERVERBUG] Internal error" (Dovecot then
# rebuilds the index). A mail client tries again; so does this one, on a
# new connection, since the refusing session may keep its stale view.
TRANSIENT = (b"deleted under us", b"[SERVERBUG]")


def append(connect, client, mailbox, raw):
    """Appends, retrying Dovecot's transient refusals (TRANSIENT) on a new
    connection; the connection in use after, and the answer."""
    for _ in range(20):
        typ, data = client.append(quoted(mailbox), None, None, raw)
        if typ == "OK" or not any(t in d for d in data if d for t in TRANSIENT):
            return client, typ, data
        time.sleep(0.1)
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
        client = connect()
    return client, typ, data


def connect(args):
    if args.get("tls"):
        # The test's own self-signed certificate: this client only puts mail in.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client = imaplib.IMAP4_SSL("127.0.0.1", args["port"], ssl_context=context, timeout=30)
    else:
        client = imaplib.IMAP4("127.0.0.1", args["port"], timeout=30)
        if args.get("starttls"):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            client.starttls(ssl_context=context)
    client.login(args["user"], args["password"])
    return client


def main() -> None:
    args = json.loads(sys.argv[1])
    client = connect(args)
    answers = []
    for op in args["ops"]:
        if op[0] == "append":
            with open(op[2], "rb") as f:
                raw = f.read()
            client, typ, data = append(lambda: connect(args), client, op[1], raw)
        elif op[0] == "create":
            typ, data = client.create(quoted(op[1]))
        elif op[0] == "delete":
            typ, data = client.delete(quoted(op[1]))
        else:
            raise SystemExit(f"unknown operation {op[0]}")
        if typ != "OK":
            raise SystemExit(f"{op[0]} {op[1]}: {typ} {data}")
        answers.append([typ, [d.decode("utf-8", "replace") for d in data if d]])
    client.logout()
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
