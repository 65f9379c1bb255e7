#!/usr/bin/env python3
"""Writes the sample mails the parser's tests read, as the clients named in
each write them (charsets, transfer encodings, quoting). Run it from this
folder: python3 make_samples.py. The .eml files are committed; this script
says how they were made."""

import base64
import email.quoprimime
import email.utils

DATE = "Tue, 01 Dec 2026 10:00:00 +0900"
CODECS = {
    "iso-2022-jp": "iso2022_jp", "shift_jis": "shift_jis", "euc-jp": "euc_jp",
    "gb2312": "gb2312", "gbk": "gbk", "gb18030": "gb18030", "big5": "big5",
    "euc-kr": "euc_kr", "utf-8": "utf-8",
}


def words(text, charset):
    """An RFC 2047 header value, as a client in that charset writes it:
    base64 encoded words of at most 75 characters, each decodable alone."""
    if text.isascii():
        return text
    out, chunk = [], ""
    for ch in text:
        trial = chunk + ch
        encoded = base64.b64encode(trial.encode(CODECS[charset])).decode()
        if len(f"=?{charset}?B?{encoded}?=") > 75 and chunk:
            out.append(chunk)
            chunk = ch
        else:
            chunk = trial
    out.append(chunk)
    return "\r\n ".join(
        f"=?{charset}?B?{base64.b64encode(c.encode(CODECS[charset])).decode()}?=" for c in out)


def address(name, addr, charset="utf-8"):
    return email.utils.formataddr((str(words(name, charset)), addr)) if name else addr


def headers(pairs):
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode("ascii")


def text_part(body, charset, cte, subtype="plain"):
    raw = body.replace("\n", "\r\n").encode(CODECS[charset])
    if cte == "base64":
        payload = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    elif cte == "quoted-printable":
        payload = email.quoprimime.body_encode(raw.decode("latin-1"), 76, "\r\n").encode("latin-1")
    else:
        payload = raw
    head = headers([
        ("Content-Type", f'text/{subtype}; charset="{charset}"'),
        ("Content-Transfer-Encoding", cte),
    ])
    return head + b"\r\n" + payload


def mail(top, body):
    return headers(top + [("MIME-Version", "1.0")]) + body


def single(name, charset, cte, subject, sender, text, extra=()):
    part = text_part(text, charset, cte)
    top = [
        ("From", address(sender[0], sender[1], charset)),
        ("To", "support@koban.example"),
        ("Subject", words(subject, charset)),
        ("Date", DATE),
        ("Message-ID", f"<{name}@samples.koban.example>"),
        *extra,
    ]
    write(name, mail(top, b"") + part)


def multipart(subtype, boundary, parts, params=""):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n" + p + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    head = headers([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"{params}')])
    return head + b"\r\n" + out


def binary_part(content_type, data, name, disposition, content_id=None):
    pairs = [
        ("Content-Type", f'{content_type}; name="{name}"'),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Disposition", f'{disposition}; filename="{name}"'),
    ]
    if content_id:
        pairs.append(("Content-ID", f"<{content_id}>"))
    return headers(pairs) + b"\r\n" + base64.encodebytes(data).replace(b"\n", b"\r\n")


def write(name, raw):
    with open(f"{name}.eml", "wb") as f:
        f.write(raw)


# A tiny PNG (1x1, transparent): what a screenshot's bytes stand in for.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

# One per charset, the way the region's clients send them.
single("iso-2022-jp", "iso-2022-jp", "7bit", "ログインできません", ("山田 太郎", "taro@example.jp"),
       "お世話になっております。\nログインできません。\n\n山田 太郎 さんは書きました:\n> パスワードを再設定してください。\n")
single("shift_jis", "shift_jis", "base64", "請求書について", ("佐藤 花子", "hanako@example.jp"),
       "請求書の金額が違います。\nご確認ください。\n")
single("euc-jp", "euc-jp", "base64", "アカウント削除", ("鈴木 一郎", "ichiro@example.jp"),
       "アカウントを削除したいです。\n")
single("gb2312", "gb2312", "base64", "无法登录", ("王伟", "wei@example.cn"),
       "你好，我无法登录账户。\n\n王伟 <wei@example.cn> 于2026年12月1日周二 09:00写道：\n> 请重置密码。\n")
single("gbk", "gbk", "base64", "账单问题", ("李娜", "na@example.cn"),
       "我的账单金额不对，请帮忙核实。\n")
single("gb18030", "gb18030", "base64", "密码重置", ("张敏", "min@example.cn"),
       "我收不到密码重置邮件。𠀀\n")
single("big5", "big5", "base64", "無法登入", ("陳志明", "chih@example.tw"),
       "您好，我無法登入帳戶。\n")
single("euc-kr", "euc-kr", "base64", "로그인 문제", ("김민수", "minsu@example.kr"),
       "로그인이 되지 않습니다.\n")
single("utf-8", "utf-8", "quoted-printable", "เข้าสู่ระบบไม่ได้", ("สมชาย ใจดี", "somchai@example.th"),
       "สวัสดีครับ เข้าสู่ระบบไม่ได้ครับ\n")
single("signature", "utf-8", "7bit", "Export fails", ("Ann Lee", "ann@example.com"),
       "The CSV export fails with error 500.\n\n-- \nAnn Lee\nAcme Ltd.\n")
single("outlook-reply", "utf-8", "quoted-printable", "RE: [#KB-1001] Export fails",
       ("Ann Lee", "ann@example.com"),
       "It works now, thank you.\n\n-----Original Message-----\nFrom: Koban Support <support@koban.example>\n"
       "Sent: Monday, November 30, 2026 6:00 PM\nTo: Ann Lee <ann@example.com>\n"
       "Subject: [#KB-1001] Export fails\n\nPlease try again.\n",
       extra=[("Thread-Index", "AdrDqZ1bXbG0cHqvTz2mVq=="), ("X-Mailer", "Microsoft Outlook 16.0")])

# Outlook on the web: a line of underscores over the answered mail's headers.
single("outlook-web-reply", "utf-8", "quoted-printable", "RE: [#KB-1002] 2FA codes",
       ("Ken Ito", "ken@example.com"),
       "The codes arrive now.\n\n________________________________\nFrom: Koban Support <support@koban.example>\n"
       "Sent: Monday, November 30, 2026 18:00\nTo: Ken Ito <ken@example.com>\n"
       "Subject: [#KB-1002] 2FA codes\n\nPlease check your phone's clock.\n",
       extra=[("X-MS-Exchange-Organization-SCL", "1")])

# An unknown charset: written by hand, a client's typo.
write("unknown-charset", mail([
    ("From", "Bob <bob@example.com>"), ("To", "support@koban.example"), ("Subject", "Odd charset"),
    ("Date", DATE), ("Message-ID", "<unknown-charset@samples.koban.example>"),
    ("Content-Type", 'text/plain; charset="x-klingon-7"'), ("Content-Transfer-Encoding", "8bit"),
], b"\r\nPlease help, caf\xc3\xa9 \xff broken.\r\n"))

# Gmail: multipart/alternative, "On … wrote:" with "> " lines.
plain = ("Still broken.\n\nOn Mon, Nov 30, 2026 at 6:00 PM Koban Support <support@koban.example> wrote:\n"
         "> Please try again.\n")
html = ('<div dir="ltr">Still broken.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        'On Mon, Nov 30, 2026 at 6:00 PM Koban Support &lt;<a href="mailto:support@koban.example">'
        'support@koban.example</a>&gt; wrote:<br></div><blockquote class="gmail_quote" '
        'style="margin:0px 0px 0px 0.8ex">Please try again.</blockquote></div>\n')
write("gmail-alternative", mail([
    ("From", address("Ann Lee", "ann@example.com")), ("To", "support@koban.example"),
    ("Subject", "Re: [#KB-1001] Export fails"), ("Date", DATE),
    ("Message-ID", "<gmail-alternative@samples.koban.example>"),
    ("In-Reply-To", "<kb-1001-1@koban.example>"), ("References", "<kb-1001-1@koban.example>"),
], multipart("alternative", "000000000000a1b2c3", [
    text_part(plain, "utf-8", "quoted-printable"), text_part(html, "utf-8", "quoted-printable", "html"),
])))

# Apple Mail: an inline screenshot in multipart/related, HTML only.
html = ('<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>'
        '<p>The button is grey:</p><p><img src="cid:shot-1@apple" alt="Screenshot"></p>'
        '<p>See <a href="https://status.example.com/">the status page</a>.'
        '<img src="https://tracker.example.com/t.gif"></p>'
        '<form action="https://evil.example/"><input name="password"></form></body></html>')
write("inline-screenshot", mail([
    ("From", address("Ann Lee", "ann@example.com")), ("To", "support@koban.example"),
    ("Subject", "Grey button"), ("Date", DATE),
    ("Message-ID", "<inline-screenshot@samples.koban.example>"),
    ("X-Mailer", "Apple Mail (2.3774.300.61)"),
], multipart("related", "Apple-Mail=_1F2E3D4C", [
    text_part(html, "utf-8", "quoted-printable", "html"),
    binary_part("image/png", PNG, "Screen Shot 2026-12-01 at 10.00.00.png", "inline", "shot-1@apple"),
], '; type="text/html"')))

# A forwarded mail (message/rfc822) carrying its own attachment.
inner = mail([
    ("From", address("Bank Alerts", "alerts@bank.example")), ("To", "ann@example.com"),
    ("Subject", "Unusual sign-in"), ("Date", "Mon, 30 Nov 2026 08:00:00 +0000"),
    ("Message-ID", "<alert-1@bank.example>"),
], multipart("mixed", "inner-b", [
    text_part("We saw a sign-in from a new device.\n", "utf-8", "7bit"),
    binary_part("application/pdf", b"%PDF-1.4 sample", "report.pdf", "attachment"),
]))
write("forwarded", mail([
    ("From", address("Ann Lee", "ann@example.com")), ("To", "support@koban.example"),
    ("Subject", "Fwd: Unusual sign-in"), ("Date", DATE),
    ("Message-ID", "<forwarded@samples.koban.example>"),
], multipart("mixed", "outer-b", [
    text_part("Is this real?\n", "utf-8", "7bit"),
    headers([("Content-Type", "message/rfc822"), ("Content-Disposition", "inline")]) + b"\r\n" + inner,
])))

# RFC 2231 and RFC 2047 file names, one with a path and a bidi override.
name_2231 = "filename*=utf-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf"
write("file-names", mail([
    ("From", "ann@example.com"), ("To", "support@koban.example"), ("Subject", "Files"),
    ("Date", DATE), ("Message-ID", "<file-names@samples.koban.example>"),
], multipart("mixed", "names-b", [
    text_part("Three files.\n", "utf-8", "7bit"),
    headers([("Content-Type", "application/pdf"), ("Content-Transfer-Encoding", "base64"),
             ("Content-Disposition", f"attachment; {name_2231}")]) + b"\r\n" + base64.encodebytes(b"pdf"),
    headers([("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "base64"),
             ("Content-Disposition", f'attachment; filename="{words("請求書.txt", "iso-2022-jp")}"')])
    + b"\r\n" + base64.encodebytes(b"txt"),
    headers([("Content-Type", "application/octet-stream"), ("Content-Transfer-Encoding", "base64"),
             ("Content-Disposition",
              "attachment; filename*=utf-8''..%2F..%2Fetc%2Finvoice%E2%80%AEgpj.exe")])
    + b"\r\n" + base64.encodebytes(b"exe"),
])))
