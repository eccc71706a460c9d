"""aiosmtpd on loopback offering AUTH SCRAM-SHA-256 (RFC 7677) through
the scramp library: an independent SCRAM server for the client's interop
test (tests/interop_sasl.rs).

It keeps stored credentials (salt, StoredKey, ServerKey, 4096 iterations)
for --user NAME:PASSWORD, sends the server signature as a challenge
answered empty (RFC 4954 §4), and prints one line per event on stdout:

  listening on HOST:PORT
  auth ok NAME            a SCRAM exchange succeeded
  auth failed REASON      it did not (scramp's error, or the client's "*")
  data NAME FROM TO...    a message accepted from the authenticated NAME

--bad-signature sends a server signature that does not match: a client
must refuse such a server (RFC 5802 §9).
"""

import argparse
import asyncio
import base64
import sys

from aiosmtpd.smtp import MISSING, SMTP, AuthResult
from scramp import ScramException, ScramMechanism


def say(line):
    print(line, flush=True)


class Scram:
    def __init__(self, users, bad_signature):
        self.mechanism = ScramMechanism("SCRAM-SHA-256")
        self.users = {
            name: self.mechanism.make_auth_info(password, iteration_count=4096)
            for name, password in users.items()
        }
        self.bad_signature = bad_signature

    async def auth_SCRAM__SHA__256(self, server, args):
        looked_up = []

        def lookup(name):
            looked_up.append(name)
            return self.users[name]

        scram = self.mechanism.make_server(lookup)
        if len(args) == 2:
            first = base64.b64decode(args[1], validate=True)
        else:
            first = await server.challenge_auth("")
            if first is MISSING:
                say("auth failed cancelled")
                return AuthResult(success=False, handled=True)
        try:
            scram.set_client_first(first.decode())
            last = await server.challenge_auth(scram.get_server_first())
            if last is MISSING:
                say("auth failed cancelled")
                return AuthResult(success=False, handled=True)
            scram.set_client_final(last.decode())
        except (ScramException, KeyError) as e:
            say("auth failed %s" % type(e).__name__)
            return AuthResult(success=False, handled=False)
        verifier = scram.get_server_final()
        if self.bad_signature:
            verifier = "v=" + base64.b64encode(b"\0" * 32).decode()
        empty = await server.challenge_auth(verifier)
        if empty is MISSING:
            say("auth failed cancelled")
            return AuthResult(success=False, handled=True)
        say("auth ok %s" % looked_up[0])
        return AuthResult(success=True, auth_data=looked_up[0])

    async def handle_DATA(self, server, session, envelope):
        say(
            "data %s %s %s"
            % (session.auth_data, envelope.mail_from, " ".join(envelope.rcpt_tos))
        )
        return "250 2.0.0 OK"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hostname", default="aiosmtpd.esmtp.test")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD")
    parser.add_argument("--bad-signature", action="store_true")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("refusing to listen on a non-loopback address")
    users = dict(u.partition(":")[::2] for u in args.user)
    handler = Scram(users, args.bad_signature)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(
            handler,
            hostname=args.hostname,
            decode_data=False,
            auth_require_tls=False,
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
            loop=loop,
        )

    server = loop.run_until_complete(
        loop.create_server(factory, host=args.host, port=args.port)
    )
    say("listening on %s:%d" % (args.host, args.port))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
