//! The session: greeting, EHLO/HELO/LHLO with fallback (RFC 5321
//! §4.1.1.1, §3.2), STARTTLS (RFC 3207), AUTH (RFC 4954), QUIT and
//! closing.

use super::config::TlsPolicy;
use super::event::{AuthError, CloseReason, Event, MessageError};
use super::pipeline::{Expect, Job};
use super::{auth, Client, Phase, MAX_AUTH_LINE};
use crate::command::Command;
use crate::ehlo::{Keyword, Mechanism};
use crate::reply::Reply;
use crate::sasl::SaslContext;

impl Client {
    pub(super) fn pipelining(&self) -> bool {
        self.config.pipelining
            && (self.config.lmtp
                || self
                    .caps
                    .as_ref()
                    .is_some_and(|c| c.supports(Keyword::Pipelining)))
    }

    /// May another transaction command go out now?
    pub(super) fn can_send(&self) -> bool {
        self.inflight.is_empty()
            || (self.pipelining() && self.inflight.iter().all(|e| e.pipelinable()))
    }

    // ---- session set-up ----

    pub(super) fn send_hello(&mut self) {
        self.phase = Phase::Hello;
        let host = self.config.hostname.clone();
        if self.config.lmtp {
            self.write(&Command::Lhlo(host), Expect::Lhlo);
        } else {
            self.write(&Command::Ehlo(host), Expect::Ehlo);
        }
    }

    pub(super) fn offers(&self, k: Keyword) -> bool {
        self.caps.as_ref().is_some_and(|c| c.supports(k))
    }

    pub(super) fn after_hello(&mut self) {
        if !self.tls && self.config.tls != TlsPolicy::None {
            if self.offers(Keyword::StartTls) {
                self.phase = Phase::StartTls;
                self.write(&Command::StartTls, Expect::StartTls);
                return;
            }
            if self.config.tls == TlsPolicy::Required {
                self.fail_all(MessageError::TlsRequired);
                return self.send_quit(CloseReason::Quit);
            }
        }
        self.start_auth();
    }

    pub(super) fn start_auth(&mut self) {
        let Some(auth) = self.config.auth.clone().filter(|_| !self.authenticated) else {
            self.phase = Phase::Ready;
            return;
        };
        if !auth.credentials.is_encodable() {
            return self.refuse_auth(AuthError::UnencodableCredentials);
        }
        if !self.tls && !self.config.allow_plaintext_auth {
            // Whatever the mechanism: even CRAM-MD5's digest can be
            // cracked offline by whoever reads it.
            return self.refuse_auth(AuthError::PlaintextRefused);
        }
        let offered: Vec<Mechanism> = self
            .caps
            .as_ref()
            .map(|c| c.auth_mechanisms().to_vec())
            .unwrap_or_default();
        let cx = SaslContext {
            nonce: self.sasl_nonce.as_deref(),
            channel_binding: self.channel_binding.as_deref(),
            offered: &offered,
        };
        let Some(mech) = auth::choose(&auth.credentials, auth.mechanism.as_ref(), &cx) else {
            self.events.push_back(Event::AuthFailed {
                mechanism: None,
                error: AuthError::NoMechanism,
                reply: None,
            });
            self.fail_all(MessageError::Auth(AuthError::NoMechanism));
            return self.send_quit(CloseReason::Quit);
        };
        let Ok((x, initial)) = auth::Exchange::start(&auth, mech.clone(), &cx, MAX_AUTH_LINE)
        else {
            // Nothing was sent: SASLprep refused the password, a nonce or
            // channel-binding data is missing, or the application's
            // mechanism could not start.
            return self.refuse_auth(AuthError::UnencodableCredentials);
        };
        // A nonce is used once.
        self.sasl_nonce = None;
        self.write(
            &Command::Auth {
                mechanism: mech,
                initial,
            },
            Expect::Auth,
        );
        self.phase = Phase::Auth(x);
    }

    /// AUTH is not attempted: every message fails, the session quits.
    pub(super) fn refuse_auth(&mut self, error: AuthError) {
        self.events.push_back(Event::AuthFailed {
            mechanism: None,
            error,
            reply: None,
        });
        self.fail_all(MessageError::Auth(error));
        self.send_quit(CloseReason::Quit);
    }

    pub(super) fn auth_reply(&mut self, reply: Reply<'static>) {
        let Phase::Auth(x) = &mut self.phase else {
            return self.desync();
        };
        let code = reply.code().get();
        if code == 334 && x.is_cancelled() {
            // After `*` the server must refuse with 501 (RFC 4954 §4); a
            // server that challenges on would keep the client answering
            // `*` for as long as it liked.
            return self.desync();
        }
        if code == 334 {
            let text = reply.lines().next().unwrap_or_default().to_vec();
            let challenge = auth::decode_challenge(&text);
            let response = x.respond(challenge.as_deref());
            // `respond` base64-encodes: always a valid response.
            response.write_checked(&mut self.staging, false);
            self.staging.extend_from_slice(b"\r\n");
            self.owe(Expect::Auth);
            return;
        }
        let mechanism = x.mechanism.clone();
        // A 235 the mechanism does not trust (SCRAM without the server's
        // signature) fails like a refusal.
        let verdict = match code {
            235 => x.complete(),
            _ => Err(x.failure(code)),
        };
        if verdict.is_ok() {
            self.authenticated = true;
            self.events.push_back(Event::Authenticated { mechanism });
            if self.config.ehlo_after_auth && !self.config.lmtp {
                self.phase = Phase::Hello;
                let host = self.config.hostname.clone();
                self.write(&Command::Ehlo(host), Expect::ReEhlo);
            } else {
                self.phase = Phase::Ready;
            }
        } else {
            let error = verdict.err().unwrap_or(AuthError::Other);
            self.events.push_back(Event::AuthFailed {
                mechanism: Some(mechanism),
                error,
                reply: Some(reply),
            });
            self.fail_all(MessageError::Auth(error));
            self.send_quit(CloseReason::Quit);
        }
    }

    pub(super) fn send_quit(&mut self, reason: CloseReason) {
        self.jobs.clear();
        self.quit_queued = true;
        self.write(&Command::Quit, Expect::Quit);
        self.phase = Phase::Quitting(reason);
    }

    pub(super) fn close(&mut self, reason: CloseReason) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.inflight.clear();
        self.quit_queued = true;
        if reason != CloseReason::Quit && reason != CloseReason::Refused {
            // Nothing more may be written on a dead or reversed stream.
            self.staging.clear();
            self.out.clear();
        }
        self.events.push_back(Event::Closed { reason });
    }

    /// Every message not yet reported fails with `error`.
    pub(super) fn fail_all(&mut self, error: MessageError) {
        if let Some(mut cur) = self.current.take() {
            cur.msg.outcome.error = Some(error.clone());
            self.events.push_back(Event::Message(cur.msg.outcome));
        }
        for job in std::mem::take(&mut self.jobs) {
            if let Job::Message(mut m) = job {
                m.outcome.error = Some(error.clone());
                self.events.push_back(Event::Message(m.outcome));
            }
        }
    }
}
