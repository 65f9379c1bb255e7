"""Sends one mail to Koban's SMTP listener with Python's smtplib, as a
real client does, and prints what every step answered as JSON.

Usage: send.py '<json>' with port, from, to (list), message (a file),
and optionally size (a SIZE= to declare) and starttls (true)."""

import json
import smtplib
import ssl
import sys

args = json.loads(sys.argv[1])
out = {}
client = smtplib.SMTP("127.0.0.1", args["port"], timeout=30)
client.ehlo("client.example")
out["features"] = dict(client.esmtp_features)
if args.get("starttls"):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client.starttls(context=context)
    client.ehlo("client.example")
    out["tls"] = client.sock.version()
    out["features_after_tls"] = dict(client.esmtp_features)
with open(args["message"], "rb") as f:
    raw = f.read()
options = ["SIZE=%d" % args["size"]] if "size" in args else []
code, message = client.mail(args["from"], options)
out["mail"] = [code, message.decode()]
if code == 250:
    out["rcpt"] = []
    for recipient in args["to"]:
        code, message = client.rcpt(recipient)
        out["rcpt"].append([code, message.decode()])
    if any(code == 250 for code, _ in out["rcpt"]):
        code, message = client.data(raw)
        out["data"] = [code, message.decode()]
client.quit()
print(json.dumps(out))
