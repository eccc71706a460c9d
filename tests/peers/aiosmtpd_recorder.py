#!/usr/bin/env python3
"""aiosmtpd on loopback that records every accepted transaction.

Used by tests/common/aiosmtpd.rs. For transaction N (1, 2, ...) it writes,
in --dir:

  N.eml  the content exactly as received after dot-unstuffing
         (aiosmtpd's envelope.original_content: CRLF line ends kept,
         final CRLF included, nothing decoded);
  N.env  the envelope, one "key<TAB>value" line per item:
           helo <name>             (EHLO/HELO argument)
           mail_from <path>        (as aiosmtpd has it: no brackets, "<>" for null)
           mail_option <param>     (one line per MAIL parameter)
           rcpt_to <path>          (one line per recipient, in order)
           rcpt_option <i> <param> (parameters of recipient i, 0-based)
           smtp_utf8 <True|False>
           auth_login <name>       (only after a successful AUTH)
         values are UTF-8 (undecodable bytes as surrogate escapes).

N.env is written last, and both files are renamed into place, so a reader
that sees N.env sees both files complete.

Options: --host (must be loopback), --port, --dir, --hostname,
-u/--smtputf8 (advertise and accept SMTPUTF8), --auth NAME:PASSWORD (offer
AUTH PLAIN and LOGIN in clear text and accept only these credentials;
without it AUTH is not usable, as before).
"""

import argparse
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Recorder:
    def __init__(self, directory):
        self.directory = directory
        self.seq = 0

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        base = os.path.join(self.directory, str(self.seq))
        content = envelope.original_content
        if content is None:
            content = envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        write_atomic(base + ".eml", content)
        lines = []

        def add(key, value):
            value = "" if value is None else str(value)
            value = value.replace("\r", "\\r").replace("\n", "\\n")
            lines.append(key + "\t" + value)

        add("helo", session.host_name)
        add("mail_from", envelope.mail_from)
        for opt in envelope.mail_options:
            add("mail_option", opt)
        for i, rcpt in enumerate(envelope.rcpt_tos):
            add("rcpt_to", rcpt)
        for i, opts in enumerate(envelope.rcpt_options):
            for opt in opts if isinstance(opts, list) else [opts]:
                add("rcpt_option", "%d %s" % (i, opt))
        add("smtp_utf8", envelope.smtp_utf8)
        if getattr(session, "authenticated", False):
            login = getattr(session, "login_data", None)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "surrogateescape")
            add("auth_login", login)
        text = "\n".join(lines) + "\n"
        write_atomic(base + ".env", text.encode("utf-8", "surrogateescape"))
        return "250 2.0.0 OK recorded as %d" % self.seq


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--hostname", default="aiosmtpd.esmtp.test")
    parser.add_argument("-u", "--smtputf8", action="store_true")
    parser.add_argument("--auth", default=None, metavar="NAME:PASSWORD")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("refusing to listen on a non-loopback address")

    handler = Recorder(args.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    auth_options = {}
    if args.auth is not None:
        name, _, password = args.auth.partition(":")
        expected = (name.encode("utf-8"), password.encode("utf-8"))

        def authenticator(server, session, envelope, mechanism, auth_data):
            login = getattr(auth_data, "login", None)
            secret = getattr(auth_data, "password", None)
            if (login, secret) == expected:
                return AuthResult(success=True, auth_data=auth_data)
            return AuthResult(success=False, handled=False)

        # Loopback tests have no TLS: allow AUTH in clear text.
        auth_options = dict(authenticator=authenticator, auth_require_tls=False)

    def factory():
        return SMTP(
            handler,
            hostname=args.hostname,
            enable_SMTPUTF8=args.smtputf8,
            decode_data=False,
            loop=loop,
            **auth_options
        )

    server = loop.run_until_complete(
        loop.create_server(factory, host=args.host, port=args.port)
    )
    print("listening on %s:%d" % (args.host, args.port), flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
