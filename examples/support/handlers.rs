//! The example servers' `Session` impls, on tokio ([`Tokio`]) and on
//! threads ([`Blocking`]): each hands every decision to the [`Mailbox`]
//! policy and differs only in how it waits — for a delivery, and for the
//! held mail it sends once ATRN reversed the roles. Also what `send
//! --atrn` serves the reversed connection with.

use esmtp::bytes::Bytes;
use esmtp::command::{Etrn, SendMode};
use esmtp::params::{MailParams, RcptParams};
use esmtp::runtime::server;
use esmtp::runtime::server::{Answer, Direction, LmtpAnswer, MessageEnd, SessionEnd, TlsInfo};
use esmtp::server::{AbortReason, Credentials, HelloVerb};
use esmtp::values::{Domain, ForwardPath, Host, ReversePath};

use super::maildir::Pending;
use super::session::{single, Mailbox};

/// The policy on tokio: a delivery on the group-commit thread is awaited,
/// so the worker serves other sessions meanwhile.
#[allow(dead_code)] // each program uses one of the two
pub struct Tokio(pub Mailbox);

/// The policy on a connection's thread, which waits for its delivery.
#[allow(dead_code)] // each program uses one of the two
pub struct Blocking(pub Mailbox);

/// One `Session` impl for both runtimes: `$async` is `async` or nothing,
/// `$wait` how a delivery is waited for, `$client` the transport's module
/// for the held mail ATRN sends over the reversed connection.
macro_rules! session {
    ($ty:ident, $trait:path, $reversal:ty, $client:path, [$($async:tt)?], $wait:expr, [$($await:tt)*]) => {
        impl $trait for $ty {
            $($async)? fn hello(&mut self, verb: HelloVerb, host: Host<'static>) -> Answer {
                self.0.hello(verb, host)
            }
            $($async)? fn mail(&mut self, from: ReversePath<'static>, params: MailParams<'static>, _: Option<SendMode>) -> Answer {
                self.0.mail(from, params)
            }
            $($async)? fn rcpt(&mut self, to: ForwardPath<'static>, _: RcptParams<'static>) -> Answer {
                self.0.rcpt(to)
            }
            $($async)? fn content(&mut self, chunk: Bytes) {
                self.0.content(&chunk);
            }
            $($async)? fn message_end(&mut self, end: MessageEnd) -> Answer {
                single(self.lmtp_message_end(end)$($await)*)
            }
            $($async)? fn lmtp_message_end(&mut self, end: MessageEnd) -> LmtpAnswer {
                match self.0.message_end(end) {
                    Ok(delivery) => {
                        let outcome = $wait(delivery)$($await)*;
                        self.0.delivered(outcome)
                    }
                    Err(answer) => answer,
                }
            }
            fn message_aborted(&mut self, reason: AbortReason) {
                self.0.message_aborted(reason);
            }
            $($async)? fn auth(&mut self, credentials: Credentials) -> Answer {
                self.0.auth(credentials)
            }
            $($async)? fn etrn(&mut self, node: Etrn<'static>) -> Answer {
                self.0.etrn(node)
            }
            $($async)? fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Answer {
                self.0.atrn(domains)
            }
            /// ATRN accepted: the held mail goes over the same connection.
            $($async)? fn reversed(&mut self, reversal: $reversal) {
                use $client as client;
                let Some(run) = self.0.reversed() else { return };
                match client::Transport::reversed(reversal, run.client_config())$($await)* {
                    Ok(mut transport) => {
                        for m in run.messages() {
                            m.done(transport.send(m.envelope.clone(), m.content.clone())$($await)*);
                        }
                        transport.quit()$($await)*;
                    }
                    Err(e) => run.failed(&e),
                }
            }
            fn tls_established(&mut self, tls: &TlsInfo) {
                self.0.tls_established(tls);
            }
            fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
                self.0.transcript(direction, bytes);
            }
            fn closed(&mut self, end: SessionEnd) {
                self.0.closed(end);
            }
        }
    };
}

session!(Tokio, server::Session, server::Reversal, esmtp::runtime::client, [async], Pending::wait, [.await]);
session!(
    Blocking,
    server::blocking::Session,
    server::blocking::Reversal,
    esmtp::runtime::client::blocking,
    [],
    Pending::wait_blocking,
    []
);
