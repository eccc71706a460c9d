//! Writing a [`Capabilities`] set as the multi-line `250` reply to EHLO
//! (RFC 5321 §4.1.1.1 `ehlo-ok-rsp`).

use super::{Capabilities, Keyword};
use crate::reply::{Reply, ReplyTextError};
use crate::values::ReplyCode;

impl Capabilities<'_> {
    fn wire_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(Keyword::ALL.len() + self.other.len() + 1);
        let mut first = self.domain().to_string();
        if let Some(g) = self.greet() {
            first.push(' ');
            first.push_str(g);
        }
        lines.push(first);
        for &kw in Keyword::ALL {
            if !self.supports(kw) {
                continue;
            }
            let mut line = kw.name().to_owned();
            let mut param = |p: &str| {
                line.push(' ');
                line.push_str(p);
            };
            match kw {
                Keyword::Size => {
                    if let Some(Some(n)) = self.size_param() {
                        param(&n.to_string());
                    }
                }
                // Never the pre-RFC 2554 `AUTH=` form.
                Keyword::Auth => self.auth.iter().for_each(|m| param(m.as_str())),
                Keyword::DeliverBy => {
                    if let Some(n) = self.deliver_by {
                        param(&n.to_string());
                    }
                }
                Keyword::MtPriority => self.mt_priority_profile().iter().for_each(|p| param(p)),
                Keyword::FutureRelease => {
                    if let Some(fr) = self.future_release() {
                        fr.for_each_ehlo_param(param);
                    }
                }
                Keyword::Limits => {
                    if let Some(limits) = self.limits() {
                        limits.for_each_ehlo_param(param);
                    }
                }
                Keyword::Burl => self.burl_args().for_each(param),
                Keyword::NoSoliciting => {
                    self.no_soliciting_keywords().iter().for_each(|k| param(k))
                }
                _ => {}
            }
            lines.push(line);
        }
        lines.extend(self.other.iter().map(|l| l.to_string()));
        lines
    }

    /// The multi-line `250` reply advertising this set: the domain (and
    /// greeting) first, then one keyword per line, unknown lines last.
    /// Fails only if a line would exceed 512 octets or parsed greeting text
    /// holds a control character.
    pub fn to_reply(&self) -> Result<Reply<'static>, ReplyTextError> {
        Reply::new(ReplyCode::OK, None, self.wire_lines())
    }

    /// Appends [`Self::to_reply`] in wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), ReplyTextError> {
        self.to_reply()?.write_to(out);
        Ok(())
    }
}

/// The fields by name, the first line shown as its domain and greeting
/// (they are kept as one text).
impl std::fmt::Debug for Capabilities<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities")
            .field("domain", &self.domain())
            .field("greet", &self.greet())
            .field("present", &self.present)
            .field("size", &self.size)
            .field("auth", &self.auth)
            .field("deliver_by", &self.deliver_by)
            .field("rare", &self.rare)
            .field("other", &self.other)
            .finish()
    }
}
