//! The seam between one extension and the rest of the crate: the
//! [`Extension`] each `ext/<name>.rs` fills in, the views it is handed
//! (the server's [`Offer`], the client's [`Negotiation`]), and the lookup
//! the parameter lists use to find a parameter's owner.
//!
//! Everything here is plain data and `fn` pointers, built at compile time
//! from [`super::REGISTRY`]: finding a parameter's definition is one
//! hashed slot, calling it one indirect call (no slower than the
//! per-extension `match` it replaced: BENCHMARKS.md, "The extension
//! seam"), and nothing allocates.

use super::burl::Part;
use super::MandatedReply;
use crate::client::{ApiError, ClientConfig, Envelope, MessageError, ParamPolicy};
use crate::data::ContentKind;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::octets::pack::pack_const;
use crate::options::ParseOptions;
use crate::params::{MailParams, RcptParams, Value};
use crate::server::{Extensions, ServerConfig};
use crate::values::{ForwardPath, ReversePath};

/// One service extension as the machines, `ehlo` and `params` see it.
/// Every hook defaults to "nothing to do" ([`Extension::NONE`]), so an
/// extension fills in only what it has.
#[derive(Clone, Copy)]
pub(crate) struct Extension {
    /// Its MAIL parameters, in the order they are written.
    pub(crate) mail: &'static [MailParamDef],
    /// Its RCPT parameters, in the order they are written.
    pub(crate) rcpt: &'static [RcptParamDef],
    /// Server: adds its keywords (and their values) to the EHLO reply.
    pub(crate) advertise: for<'s> fn(&Offer<'s>, &mut Capabilities<'s>),
    /// Server: checks a MAIL's parameters against what was offered.
    pub(crate) check_mail: fn(&MailParams<'_>, &Offer<'_>) -> Result<(), MandatedReply>,
    /// Server: checks a RCPT's parameters against what was offered.
    pub(crate) check_rcpt: fn(&RcptParams<'_>, &Offer<'_>) -> Result<(), MandatedReply>,
    /// Server: a MAIL whose parameters every extension accepted: its rules
    /// on the path, and what it changes before the application sees the
    /// command.
    pub(crate) accept_mail:
        fn(&ReversePath<'_>, &mut MailParams<'_>, &Offer<'_>) -> Result<(), MandatedReply>,
    /// Server: a RCPT whose parameters every extension accepted: its rules
    /// on the path.
    pub(crate) accept_rcpt:
        fn(&ForwardPath<'_>, &RcptParams<'_>, &Offer<'_>) -> Result<(), MandatedReply>,
    /// Client: what the message needs whatever the policy (BODY,
    /// SMTPUTF8, REQUIRETLS): asked of every extension before `choose`.
    pub(crate) require: fn(&mut Negotiation<'_>) -> Result<(), MessageError>,
    /// Client: the caller's optional parameters, kept when offered, else
    /// stripped or failed per [`ParamPolicy`].
    pub(crate) choose: fn(&mut Negotiation<'_>) -> Result<(), MessageError>,
    /// Client: removes its RCPT parameters, when `choose` asked for it
    /// with [`Negotiation::strip_rcpt_params`].
    pub(crate) strip_rcpt: fn(&mut RcptParams<'_>),
    /// Client: adds the RCPT parameters the transaction needs (CONNEG
    /// with CONPERM, RFC 4141 §5.2), when `require` or `choose` asked for
    /// it with [`Negotiation::amend_rcpt_params`].
    pub(crate) amend_rcpt: fn(&mut RcptParams<'_>),
    /// Client: what the caller's envelope must hold whatever the server
    /// offers (MTRK's ENVID, RFC 3885 §3.2), checked when it is submitted.
    pub(crate) check_envelope: fn(&Envelope) -> Result<(), ApiError>,
}

impl Extension {
    /// An extension with nothing to advertise, check or negotiate.
    pub(crate) const NONE: Extension = Extension {
        mail: &[],
        rcpt: &[],
        advertise: |_, _| {},
        check_mail: |_, _| Ok(()),
        check_rcpt: |_, _| Ok(()),
        accept_mail: |_, _, _| Ok(()),
        accept_rcpt: |_, _, _| Ok(()),
        require: |_| Ok(()),
        choose: |_| Ok(()),
        strip_rcpt: |_| {},
        amend_rcpt: |_| {},
        check_envelope: |_| Ok(()),
    };
}

/// Every extension's check of a submitted envelope, in registry order.
pub(crate) fn check_envelope(envelope: &Envelope) -> Result<(), ApiError> {
    super::REGISTRY
        .iter()
        .try_for_each(|e| (e.check_envelope)(envelope))
}

/// One MAIL or RCPT parameter: its keyword (the only place it is
/// spelled), how its value is read into its slot and written back.
#[derive(Clone, Copy)]
pub(crate) struct ParamDef<Parse, Write> {
    /// The `esmtp-keyword`, upper case (matched in any case, RFC 5321 §2.4).
    pub(crate) keyword: &'static str,
    /// Whether its value may hold `=`, which `esmtp-value` excludes: only
    /// MTRK's base64 padding (RFC 3885 §3.1).
    pub(crate) eq_in_value: bool,
    /// Reads the value into its slot; a repeat is an error.
    pub(crate) parse: Parse,
    /// Appends ` KEYWORD[=value]` when the slot holds one.
    pub(crate) write: Write,
}

/// A MAIL parameter's definition.
pub(crate) type MailParamDef = ParamDef<
    for<'a> fn(&mut MailParams<'a>, &Value<'a>, &ParseOptions) -> Result<(), SyntaxError>,
    fn(&MailParams<'_>, &mut Vec<u8>),
>;

/// A RCPT parameter's definition.
pub(crate) type RcptParamDef = ParamDef<
    for<'a> fn(&mut RcptParams<'a>, &Value<'a>, &ParseOptions) -> Result<(), SyntaxError>,
    fn(&RcptParams<'_>, &mut Vec<u8>),
>;

/// What a server session offers, as an extension's `advertise` and checks
/// see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offer<'s> {
    /// The listener's configuration.
    pub(crate) config: &'s ServerConfig,
    /// The session runs over TLS.
    pub(crate) tls: bool,
    /// AUTH is offered in this session (mechanisms configured, and TLS
    /// when they require it).
    pub(crate) auth_offered: bool,
    /// The client has authenticated (RFC 4954).
    pub(crate) authenticated: bool,
    /// The transaction's MAIL carried SMTPUTF8 (RFC 6531 §3.4).
    pub(crate) smtputf8: bool,
    /// The application authorised XCLIENT for this connection.
    pub(crate) xclient_authorized: bool,
    /// The application authorised XFORWARD for this connection.
    pub(crate) xforward_authorized: bool,
    /// The session greeted with EHLO or LHLO: what `advertise` adds was
    /// offered.
    pub(crate) ehlo: bool,
}

impl<'s> Offer<'s> {
    /// The extensions configured.
    pub(crate) fn ext(&self) -> &'s Extensions {
        &self.config.extensions
    }

    /// The session speaks LMTP (RFC 2033).
    pub(crate) fn lmtp(&self) -> bool {
        self.config.lmtp
    }
}

/// A parameter of an extension that was not offered: `555 5.5.4`
/// (RFC 5321 §4.1.1.11).
pub(crate) const NOT_OFFERED: MandatedReply =
    super::reply(555, 5, 5, 4, "Parameter not recognized");

/// Adds `keyword` to an EHLO reply when `on`.
pub(crate) fn advertise_if(caps: &mut Capabilities<'_>, keyword: Keyword, on: bool) {
    if on {
        // Only FUTURERELEASE refuses a bare insert, and has its own setter.
        let _ = caps.insert(keyword);
    }
}

/// `refusal` when `present`: for parameters of extensions a server cannot
/// offer yet.
pub(crate) fn refuse_if(present: bool, refusal: MandatedReply) -> Result<(), MandatedReply> {
    if present {
        Err(refusal)
    } else {
        Ok(())
    }
}

/// [`NOT_OFFERED`] unless `offered`.
pub(crate) fn offered(offered: bool) -> Result<(), MandatedReply> {
    if offered {
        Ok(())
    } else {
        Err(NOT_OFFERED)
    }
}

/// A message's transaction being negotiated by the client, as an
/// extension's `require` and `choose` see it.
#[derive(Debug)]
pub(crate) struct Negotiation<'n> {
    /// What the server offered.
    pub(crate) caps: &'n Capabilities<'n>,
    /// The client's configuration.
    pub(crate) config: &'n ClientConfig,
    /// The session runs over TLS.
    pub(crate) tls: bool,
    /// The message's envelope, as the caller gave it.
    pub(crate) envelope: &'n Envelope,
    /// What the content holds.
    pub(crate) kind: ContentKind,
    /// The content's size, when known.
    pub(crate) size: Option<u64>,
    /// The MAIL parameters being decided (the caller's, to start with).
    pub(crate) params: MailParams<'static>,
    /// Send the content with BDAT (RFC 3030).
    pub(crate) bdat: bool,
    /// Write the paths' domains as A-labels (RFC 5891 §4): U-labels to a
    /// server without SMTPUTF8 (feature `idna`).
    pub(crate) a_labels: bool,
    /// The parts of a message with BURL parts (RFC 4468); empty for any
    /// other.
    pub(crate) parts: &'n [Part],
    rcpt_strip: RcptStrip,
    /// The registry index of the extension being asked.
    current: usize,
}

impl<'n> Negotiation<'n> {
    /// Starts from the caller's parameters.
    pub(crate) fn new(
        caps: &'n Capabilities<'n>,
        config: &'n ClientConfig,
        tls: bool,
        envelope: &'n Envelope,
        kind: ContentKind,
        size: Option<u64>,
    ) -> Self {
        Negotiation {
            caps,
            config,
            tls,
            envelope,
            kind,
            size,
            params: envelope.params.clone(),
            bdat: false,
            a_labels: false,
            parts: &[],
            rcpt_strip: RcptStrip::default(),
            current: 0,
        }
    }

    /// The message is made of these parts.
    pub(crate) fn with_parts(mut self, parts: &'n [Part]) -> Self {
        self.parts = parts;
        self
    }

    /// Asks every registered extension: first what the message requires,
    /// then what the caller chose. Returns the MAIL parameters, BDAT or
    /// not, the RCPT parameters to leave off, and A-labels or not.
    pub(crate) fn run(
        mut self,
    ) -> Result<(MailParams<'static>, bool, RcptStrip, bool), MessageError> {
        for (i, e) in super::REGISTRY.iter().enumerate() {
            self.current = i;
            (e.require)(&mut self)?;
        }
        for (i, e) in super::REGISTRY.iter().enumerate() {
            self.current = i;
            (e.choose)(&mut self)?;
        }
        Ok((self.params, self.bdat, self.rcpt_strip, self.a_labels))
    }

    /// Whether the server advertised `keyword`.
    pub(crate) fn has(&self, keyword: Keyword) -> bool {
        self.caps.supports(keyword)
    }

    /// A parameter the caller set (`present`) that needs `keyword`:
    /// `Ok(false)` to send it, `Ok(true)` to strip it, or the failure
    /// [`ParamPolicy::Fail`] asks for.
    pub(crate) fn strip_unless(
        &self,
        present: bool,
        keyword: Keyword,
    ) -> Result<bool, MessageError> {
        if !present || self.has(keyword) {
            Ok(false)
        } else if self.config.unsupported_params == ParamPolicy::Strip {
            Ok(true)
        } else {
            Err(MessageError::ExtensionUnsupported(keyword))
        }
    }

    /// Whether any recipient carries a parameter `has` finds.
    pub(crate) fn any_rcpt(&self, has: impl Fn(&RcptParams<'_>) -> bool) -> bool {
        self.envelope.recipients.iter().any(|r| has(&r.params))
    }

    /// Each RCPT is sent without this extension's parameters.
    pub(crate) fn strip_rcpt_params(&mut self) {
        self.rcpt_strip.strip |= 1 << self.current;
    }

    /// Each RCPT is sent with the parameters this extension adds.
    pub(crate) fn amend_rcpt_params(&mut self) {
        self.rcpt_strip.amend |= 1 << self.current;
    }
}

/// The extensions whose RCPT parameters a transaction leaves off, and
/// those that add some, by registry index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RcptStrip {
    strip: u64,
    amend: u64,
}

impl RcptStrip {
    /// Removes the parameters of each extension in the strip set, then
    /// adds those of each in the amend set.
    pub(crate) fn apply(self, params: &mut RcptParams<'_>) {
        each(self.strip, |e| (e.strip_rcpt)(params));
        each(self.amend, |e| (e.amend_rcpt)(params));
    }
}

/// Calls `f` on each registered extension whose index is set in `bits`.
fn each(mut bits: u64, mut f: impl FnMut(&Extension)) {
    while bits != 0 {
        let i = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        if let Some(e) = super::REGISTRY.get(i) {
            f(e);
        }
    }
}

const _: () = assert!(super::REGISTRY.len() <= 64, "RcptStrip holds 64 extensions");

/// A parameter table: each registered definition in the slot its packed
/// keyword hashes to (linear probing), with that key beside it so a
/// look-up compares integers only.
pub(crate) type ParamTable<D> = [(u128, Option<&'static D>); SLOTS];

/// Slots of a parameter table: a power of two, over twice the number of
/// parameters, so a probe is short.
pub(crate) const SLOTS: usize = 64;

/// Builds the table of one command's parameters from the registry; the
/// build fails on a keyword registered twice.
macro_rules! param_table {
    ($field:ident) => {{
        let mut table = [(0u128, None); SLOTS];
        let mut count = 0;
        let mut i = 0;
        while i < super::REGISTRY.len() {
            let defs = super::REGISTRY[i].$field;
            let mut j = 0;
            while j < defs.len() {
                let key = pack_const(defs[j].keyword);
                assert!(key != 0, "a parameter keyword is 1 to 16 octets");
                let mut slot = home_slot(key);
                while table[slot].1.is_some() {
                    assert!(
                        table[slot].0 != key,
                        "a parameter keyword is registered twice"
                    );
                    slot = (slot + 1) % SLOTS;
                }
                table[slot] = (key, Some(&defs[j]));
                count += 1;
                // Half empty: a look-up always ends at an empty slot soon.
                assert!(count <= SLOTS / 2, "too many parameters for the table");
                j += 1;
            }
            i += 1;
        }
        table
    }};
}

/// Every registered MAIL parameter.
pub(crate) static MAIL_PARAMS: ParamTable<MailParamDef> = param_table!(mail);

/// Every registered RCPT parameter.
pub(crate) static RCPT_PARAMS: ParamTable<RcptParamDef> = param_table!(rcpt);

/// The home slot of a packed keyword: the fold of `ehlo::keyword`'s
/// table with another odd multiplier, top six bits.
const fn home_slot(key: u128) -> usize {
    let folded = key as u64 ^ ((key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (folded.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 58) as usize
}

/// The definition whose packed keyword is `key`, if registered (0, the
/// key of no keyword, finds nothing).
#[inline]
pub(crate) fn lookup<D>(table: &'static ParamTable<D>, key: u128) -> Option<&'static D> {
    let mut slot = home_slot(key);
    loop {
        match table[slot] {
            (k, Some(d)) if k == key => return Some(d),
            (_, Some(_)) => slot = (slot + 1) % SLOTS,
            (_, None) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::octets::pack::pack_upper;

    /// Every registered parameter is found by its keyword in any case
    /// (RFC 5321 §2.4); nothing else is.
    #[test]
    fn every_registered_parameter_is_found_rfc5321_2_4() {
        let mut mail = 0;
        for e in super::super::REGISTRY {
            for d in e.mail {
                for name in [d.keyword.to_owned(), d.keyword.to_ascii_lowercase()] {
                    let found = lookup(&MAIL_PARAMS, pack_upper(name.as_bytes()));
                    assert!(found.is_some_and(|f| f.keyword == d.keyword), "{name}");
                }
                mail += 1;
            }
            for d in e.rcpt {
                let found = lookup(&RCPT_PARAMS, pack_upper(d.keyword.as_bytes()));
                assert!(
                    found.is_some_and(|f| f.keyword == d.keyword),
                    "{}",
                    d.keyword
                );
            }
        }
        assert_eq!(MAIL_PARAMS.iter().filter(|s| s.1.is_some()).count(), mail);
        for unknown in ["X-FOO", "SIZ", "SIZEX", "NOTIFY", "", "ALT-ADDRESSES"] {
            assert!(
                lookup(&MAIL_PARAMS, pack_upper(unknown.as_bytes())).is_none(),
                "{unknown}"
            );
        }
        assert!(lookup(&RCPT_PARAMS, pack_upper(b"SIZE")).is_none());
        assert!(lookup(&MAIL_PARAMS, 0).is_none());
    }

    /// A transaction strips exactly the RCPT parameters of the extensions
    /// it names (RFC 3461 §4.1: a relay without DSN drops them).
    #[test]
    fn rcpt_strip_removes_only_the_named_extensions() {
        let mut p = RcptParams::parse(
            b"NOTIFY=NEVER RRVS=2014-04-03T23:01:00Z",
            &ParseOptions::strict(),
        )
        .unwrap();
        let dsn = super::super::REGISTRY
            .iter()
            .position(|e| e.rcpt.iter().any(|d| d.keyword == "NOTIFY"))
            .unwrap();
        RcptStrip {
            strip: 1 << dsn,
            amend: 0,
        }
        .apply(&mut p);
        assert!(p.notify.is_none() && p.orcpt.is_none());
        assert!(p.extras().rrvs.is_some());
        RcptStrip::default().apply(&mut p);
        assert!(p.extras().rrvs.is_some());
    }
}
