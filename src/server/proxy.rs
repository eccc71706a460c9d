//! The PROXY protocol header before the greeting (HAProxy's
//! specification, §2.1 and §2.2): read, handed to the application, or the
//! connection closed without a word.

use bytes::{Buf, BytesMut};

use super::event::{CloseReason, Event};
use super::framing::Step;
use super::{Phase, Server};
use crate::proxy::{ProxyError, ProxyHeader};

impl Server {
    /// Reads the header; the greeting (or the connect decision) follows.
    pub(super) fn proxy_header(&mut self) -> Step {
        let Some(opts) = self.core.config.proxy_protocol else {
            self.core.phase = Phase::Connecting { asked: false };
            return Step::Continue;
        };
        match ProxyHeader::parse(&self.rx, &opts) {
            Err(ProxyError::Incomplete) => Step::Blocked,
            Err(_) => {
                self.reject_proxy();
                Step::Continue
            }
            Ok((header, used)) => {
                self.rx.advance(used);
                self.core.phase = Phase::Connecting { asked: false };
                if !self.core.config.ask_on_connect {
                    self.core.greet();
                }
                Step::Event(Event::Proxy(Box::new(header)))
            }
        }
    }

    /// No header in time: closed without a reply, as a bad one is.
    pub(super) fn proxy_timeout(&mut self) {
        if self
            .poll_timeout()
            .is_some_and(|deadline| self.core.timer.reached(deadline))
        {
            self.reject_proxy();
        }
    }

    /// §2.1: "Any sequence which does not exactly match the protocol must
    /// be discarded and cause the receiver to abort the connection": no
    /// reply, since nothing may be written before the header is read.
    pub(super) fn reject_proxy(&mut self) {
        self.rx = BytesMut::new();
        self.core.tx.clear();
        self.core.phase = Phase::Closing(CloseReason::ProxyHeader);
    }
}
