//! Internationalised domain names (feature `idna`): U-labels to A-labels
//! by UTS #46 processing with the STD3 rules, the IDNA2008 (RFC 5891 §4)
//! form a host name takes in DNS and in an SMTP session without SMTPUTF8
//! (RFC 6531 §3.2), through the `idna` crate.

use super::domain::{Domain, DomainRules};
use super::mailbox::{Host, Mailbox};
use super::path::{ForwardPath, ReversePath};
use crate::error::{SyntaxError, SyntaxErrorKind};

impl Domain<'_> {
    /// The domain in A-labels (`bücher.example` → `xn--bcher-kva.example`):
    /// lower case, as UTS #46 maps it. An all-ASCII domain is only
    /// checked and lowered. Fails when a label is not a valid IDN (RFC
    /// 5891 §4, UTS #46 §4 with the STD3 rules).
    pub fn to_ascii(&self) -> Result<Domain<'static>, SyntaxError> {
        let ascii = idna::domain_to_ascii_strict(self.as_str()).map_err(|_| {
            SyntaxError::new(
                SyntaxErrorKind::Arguments,
                "domain is not a valid internationalised name",
            )
        })?;
        // What idna hands back is LDH; checked anyway, since a value that
        // exists must be writable.
        Domain::parse_str(&ascii, DomainRules::default()).map(|d| d.into_owned())
    }

    /// Whether two domains name the same host: compared in A-label form,
    /// ignoring case (`BÜCHER.example` equals `xn--bcher-kva.example`). A
    /// domain that is no valid IDN is compared as written, ignoring ASCII
    /// case.
    pub fn eq_ascii(&self, other: &Domain<'_>) -> bool {
        match (self.to_ascii(), other.to_ascii()) {
            (Ok(a), Ok(b)) => a.eq_ignore_ascii_case(&b),
            _ => self.eq_ignore_ascii_case(other),
        }
    }
}

impl Mailbox<'_> {
    /// The same mailbox with its domain in A-labels, for a server that
    /// does not offer SMTPUTF8; `None` when the local part is not ASCII
    /// (it has no ASCII form, RFC 6530 §3) or the domain is no valid IDN.
    /// An all-ASCII mailbox comes back unchanged.
    pub fn to_ascii_domain(&self) -> Option<Mailbox<'static>> {
        if !self.local.is_ascii() {
            return None;
        }
        let host = match &self.host {
            Host::Domain(d) if !d.is_ascii() => Host::Domain(d.to_ascii().ok()?),
            other => other.clone().into_owned(),
        };
        Some(Mailbox::new(self.local.clone().into_owned(), host))
    }
}

/// The reverse path with its domain in A-labels (see
/// [`Mailbox::to_ascii_domain`]).
pub(crate) fn reverse_path_ascii(p: &ReversePath<'_>) -> Option<ReversePath<'static>> {
    Some(match p {
        ReversePath::Mailbox(m) => ReversePath::Mailbox(m.to_ascii_domain()?),
        other => other.clone().into_owned(),
    })
}

/// The forward path with its domain in A-labels.
pub(crate) fn forward_path_ascii(p: &ForwardPath<'_>) -> Option<ForwardPath<'static>> {
    Some(match p {
        ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.to_ascii_domain()?),
        other => other.clone().into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Domain<'_> {
        Domain::parse(s).unwrap()
    }

    #[test]
    fn u_labels_become_a_labels_rfc5891_4() {
        assert_eq!(
            d("bücher.example").to_ascii().unwrap().as_str(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            d("BÜCHER.Example").to_ascii().unwrap().as_str(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            d("例え.テスト").to_ascii().unwrap().as_str(),
            "xn--r8jz45g.xn--zckzah"
        );
        assert_eq!(
            d("Mx.Example.org").to_ascii().unwrap().as_str(),
            "mx.example.org"
        );
        // An A-label that does not decode to a valid U-label (UTS #46 §4.1).
        assert!(d("xn--a.example").to_ascii().is_err());
    }

    #[test]
    fn domains_compare_in_a_label_form_rfc5890_2_3_2_1() {
        assert!(d("bücher.example").eq_ascii(&d("XN--BCHER-KVA.example")));
        assert!(d("BÜCHER.example").eq_ascii(&d("bücher.EXAMPLE")));
        assert!(!d("bücher.example").eq_ascii(&d("bucher.example")));
        assert!(d("a.example").eq_ascii(&d("A.EXAMPLE")));
    }

    #[test]
    fn mailboxes_keep_their_ascii_local_part() {
        let m = Mailbox::parse("jörg@bücher.example").unwrap();
        assert!(m.to_ascii_domain().is_none());
        let m = Mailbox::parse("info@bücher.example").unwrap();
        assert_eq!(
            m.to_ascii_domain().unwrap().to_wire_string(),
            "info@xn--bcher-kva.example"
        );
        let m = Mailbox::parse("Info@Example.org").unwrap();
        assert_eq!(m.to_ascii_domain().unwrap(), m);
    }
}
