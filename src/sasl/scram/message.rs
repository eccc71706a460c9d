//! The SCRAM messages (RFC 5802 §7): the GS2 header and the four
//! messages of an exchange, parsed from and written to their text form.
//! Optional extensions are skipped when read and never written; the
//! reserved mandatory one (`m=`) fails the exchange, as §7 requires.

use base64::Engine;

use crate::sasl::SaslError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

const fn bad(why: &'static str) -> SaslError {
    SaslError::Malformed(why)
}

/// The GS2 channel-binding flag (RFC 5802 §7 `gs2-cbind-flag`, §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CbindFlag {
    /// `n`: the client does not support channel binding.
    None,
    /// `y`: the client supports channel binding but thinks the server
    /// does not.
    ClientOnly,
    /// `p=cb-name`: the client binds to this channel-binding type.
    Required(String),
}

/// The GS2 header that starts a client-first message (RFC 5802 §7
/// `gs2-header`): the channel-binding flag and the authorization identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gs2Header {
    /// The channel-binding flag.
    pub cbind: CbindFlag,
    /// The identity to act as (`a=`), unescaped.
    pub authzid: Option<String>,
}

impl Gs2Header {
    /// Appends `flag "," [ "a=" saslname ] ","`.
    pub fn write_to(&self, out: &mut String) {
        match &self.cbind {
            CbindFlag::None => out.push('n'),
            CbindFlag::ClientOnly => out.push('y'),
            CbindFlag::Required(name) => {
                out.push_str("p=");
                out.push_str(name);
            }
        }
        out.push(',');
        if let Some(a) = &self.authzid {
            out.push_str("a=");
            escape_saslname(a, out);
        }
        out.push(',');
    }
}

/// The client's first message (RFC 5802 §7 `client-first-message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientFirst {
    /// The GS2 header.
    pub gs2: Gs2Header,
    /// The user name (`n=`), unescaped.
    pub username: String,
    /// The client nonce (`r=`).
    pub nonce: String,
}

impl ClientFirst {
    /// The whole message.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.gs2.write_to(&mut out);
        out.push_str(&self.bare());
        out
    }

    /// `client-first-message-bare`, which the proof covers.
    pub fn bare(&self) -> String {
        let mut out = String::from("n=");
        escape_saslname(&self.username, &mut out);
        out.push_str(",r=");
        out.push_str(&self.nonce);
        out
    }

    /// Parses a client-first message; also returns the GS2 header's text
    /// (which `c=` echoes) and the bare message's (which the proof covers).
    pub fn parse(text: &str) -> Result<(Self, &str, &str), SaslError> {
        let (flag, rest) = text.split_once(',').ok_or(bad("no GS2 header"))?;
        let cbind = match flag {
            "n" => CbindFlag::None,
            "y" => CbindFlag::ClientOnly,
            _ => match flag.strip_prefix("p=") {
                Some(name) if is_cb_name(name) => CbindFlag::Required(name.to_owned()),
                _ => return Err(bad("invalid channel-binding flag")),
            },
        };
        let (authz, bare) = rest.split_once(',').ok_or(bad("no GS2 header"))?;
        let authzid = match authz {
            "" => None,
            _ => Some(unescape_saslname(
                authz.strip_prefix("a=").ok_or(bad("invalid authzid"))?,
            )?),
        };
        let gs2_len = text.len() - bare.len();
        let mut attrs = bare.split(',');
        let username = match attrs.next() {
            Some(a) if a.starts_with("m=") => return Err(bad("mandatory extension")),
            Some(a) => unescape_saslname(a.strip_prefix("n=").ok_or(bad("no user name"))?)?,
            None => return Err(bad("no user name")),
        };
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .filter(|n| is_nonce(n))
            .ok_or(bad("invalid nonce"))?;
        extensions(attrs)?;
        let first = ClientFirst {
            gs2: Gs2Header { cbind, authzid },
            username,
            nonce: nonce.to_owned(),
        };
        Ok((first, &text[..gs2_len], bare))
    }
}

/// The server's first message (RFC 5802 §7 `server-first-message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerFirst {
    /// The client nonce followed by the server's (`r=`).
    pub nonce: String,
    /// The user's salt (`s=`, base64 on the wire).
    pub salt: Vec<u8>,
    /// The iteration count (`i=`).
    pub iterations: u32,
}

impl ServerFirst {
    /// The message.
    pub fn to_text(&self) -> String {
        format!(
            "r={},s={},i={}",
            self.nonce,
            B64.encode(&self.salt),
            self.iterations
        )
    }

    /// Parses a server-first message.
    pub fn parse(text: &str) -> Result<Self, SaslError> {
        let mut attrs = text.split(',');
        let nonce = match attrs.next() {
            Some(a) if a.starts_with("m=") => return Err(bad("mandatory extension")),
            Some(a) => a.strip_prefix("r=").filter(|n| is_nonce(n)),
            None => None,
        }
        .ok_or(bad("invalid nonce"))?;
        let salt = attrs
            .next()
            .and_then(|a| a.strip_prefix("s="))
            .and_then(decode)
            .filter(|s| !s.is_empty())
            .ok_or(bad("invalid salt"))?;
        let iterations = attrs
            .next()
            .and_then(|a| a.strip_prefix("i="))
            .and_then(posit_number)
            .ok_or(bad("invalid iteration count"))?;
        extensions(attrs)?;
        Ok(ServerFirst {
            nonce: nonce.to_owned(),
            salt,
            iterations,
        })
    }
}

/// The client's final message (RFC 5802 §7 `client-final-message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientFinal {
    /// The GS2 header and any channel-binding data (`c=`, base64 on the
    /// wire).
    pub channel_binding: Vec<u8>,
    /// The whole nonce (`r=`), as the server sent it.
    pub nonce: String,
    /// The client proof (`p=`, base64 on the wire).
    pub proof: Vec<u8>,
}

impl ClientFinal {
    /// `client-final-message-without-proof`, which the proof covers.
    pub fn without_proof(&self) -> String {
        format!("c={},r={}", B64.encode(&self.channel_binding), self.nonce)
    }

    /// The whole message.
    pub fn to_text(&self) -> String {
        format!("{},p={}", self.without_proof(), B64.encode(&self.proof))
    }

    /// Parses a client-final message; also returns the text without the
    /// proof (the proof is its last attribute).
    pub fn parse(text: &str) -> Result<(Self, &str), SaslError> {
        let (without, proof) = text.rsplit_once(",p=").ok_or(bad("no proof"))?;
        let proof = decode(proof)
            .filter(|p| !p.is_empty())
            .ok_or(bad("invalid proof"))?;
        let mut attrs = without.split(',');
        let channel_binding = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .and_then(decode)
            .ok_or(bad("invalid channel binding"))?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .filter(|n| is_nonce(n))
            .ok_or(bad("invalid nonce"))?;
        extensions(attrs)?;
        let last = ClientFinal {
            channel_binding,
            nonce: nonce.to_owned(),
            proof,
        };
        Ok((last, without))
    }
}

/// The server's final message (RFC 5802 §7 `server-final-message`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerFinal {
    /// `v=`: the server signature.
    Verifier(Vec<u8>),
    /// `e=`: why the server failed the exchange.
    Error(String),
}

impl ServerFinal {
    /// The message.
    pub fn to_text(&self) -> String {
        match self {
            ServerFinal::Verifier(v) => format!("v={}", B64.encode(v)),
            ServerFinal::Error(e) => format!("e={e}"),
        }
    }

    /// Parses a server-final message.
    pub fn parse(text: &str) -> Result<Self, SaslError> {
        let mut attrs = text.split(',');
        let first = attrs.next().unwrap_or_default();
        let message = if let Some(v) = first.strip_prefix("v=") {
            ServerFinal::Verifier(
                decode(v)
                    .filter(|v| !v.is_empty())
                    .ok_or(bad("invalid verifier"))?,
            )
        } else if let Some(e) = first.strip_prefix("e=") {
            if !is_value(e) {
                return Err(bad("invalid server error"));
            }
            ServerFinal::Error(e.to_owned())
        } else {
            return Err(bad("neither verifier nor error"));
        };
        extensions(attrs)?;
        Ok(message)
    }
}

/// Appends `name` as a saslname: `=` and `,` escaped as `=3D` and `=2C`
/// (RFC 5802 §5.1).
pub fn escape_saslname(name: &str, out: &mut String) {
    for c in name.chars() {
        match c {
            '=' => out.push_str("=3D"),
            ',' => out.push_str("=2C"),
            c => out.push(c),
        }
    }
}

/// Reads a saslname (RFC 5802 §7: `1*(value-safe-char / "=2C" / "=3D")`):
/// any other `=` sequence, a NUL or an empty name fails.
pub fn unescape_saslname(text: &str) -> Result<String, SaslError> {
    if text.is_empty() || text.contains('\0') {
        return Err(bad("invalid saslname"));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(bad("invalid saslname escape")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `printable = %x21-2B / %x2D-7E` (no `,`), at least one.
pub(crate) fn is_nonce(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// `cb-name = 1*(ALPHA / DIGIT / "." / "-")`.
fn is_cb_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `value = 1*value-char` (UTF-8 except NUL and `,`; the split removed
/// the commas).
fn is_value(s: &str) -> bool {
    !s.is_empty() && !s.contains('\0')
}

/// `posit-number = %x31-39 *DIGIT`, within `u32`.
fn posit_number(s: &str) -> Option<u32> {
    let first = *s.as_bytes().first()?;
    if !(b'1'..=b'9').contains(&first) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Strict base64 (RFC 5802 §7 `base64`, RFC 4648 §4): padding required,
/// the spare bits zero.
fn decode(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok()
}

/// Optional extensions (`attr-val = ALPHA "=" value`): skipped, but they
/// must be well-formed.
fn extensions<'a>(attrs: impl Iterator<Item = &'a str>) -> Result<(), SaslError> {
    for a in attrs {
        let mut b = a.bytes();
        let ok = matches!((b.next(), b.next()), (Some(c), Some(b'=')) if c.is_ascii_alphabetic())
            && is_value(&a[2..]);
        if !ok {
            return Err(bad("invalid extension"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saslname_escapes_rfc5802_5_1() {
        let mut out = String::new();
        escape_saslname("a=b,c", &mut out);
        assert_eq!(out, "a=3Db=2Cc");
        assert_eq!(unescape_saslname("a=3Db=2Cc").unwrap(), "a=b,c");
        for bad in ["", "a=", "a=2", "a=41", "a=2c", "\0"] {
            assert!(unescape_saslname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_first_gs2_header_rfc5802_7() {
        let (m, gs2, bare) = ClientFirst::parse("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").unwrap();
        assert_eq!(m.gs2.cbind, CbindFlag::None);
        assert_eq!((gs2, bare), ("n,,", "n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
        let (m, gs2, _) = ClientFirst::parse("p=tls-exporter,a=ad=3Dmin,n=u,r=x,z=ext").unwrap();
        assert_eq!(m.gs2.cbind, CbindFlag::Required("tls-exporter".into()));
        assert_eq!(m.gs2.authzid.as_deref(), Some("ad=min"));
        assert_eq!(gs2, "p=tls-exporter,a=ad=3Dmin,");
        let (m, _, _) = ClientFirst::parse("y,,n=u,r=x").unwrap();
        assert_eq!(m.gs2.cbind, CbindFlag::ClientOnly);
        for bad in [
            "",
            "n",
            "n,",
            "x,,n=u,r=x",
            "p=,,n=u,r=x",
            "n,b=x,n=u,r=x",
            "n,,m=ext,n=u,r=x",
            "n,,n=u",
            "n,,n=u,r=",
            "n,,n=u,r=a b",
            "n,,r=x,n=u",
            "n,,n=u,r=x,=bad",
        ] {
            assert!(ClientFirst::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn server_messages_rfc5802_7() {
        let m = ServerFirst::parse("r=ab,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
        assert_eq!(m.iterations, 4096);
        assert_eq!(m.to_text(), "r=ab,s=QSXCR+Q6sek8bf92,i=4096");
        for bad in [
            "r=ab,s=QSXCR+Q6sek8bf92,i=0",
            "r=ab,s=QSXCR+Q6sek8bf92,i=04096",
            "r=ab,s=QSXCR+Q6sek8bf92,i=99999999999",
            "r=ab,s=QSXCR+Q6sek8bf9,i=1",
            "r=ab,s=,i=1",
            "m=x,r=ab,s=QSXCR+Q6sek8bf92,i=1",
        ] {
            assert!(ServerFirst::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ServerFinal::parse("e=invalid-proof").unwrap(),
            ServerFinal::Error("invalid-proof".into())
        );
        assert!(ServerFinal::parse("x=1").is_err());
        assert!(ServerFinal::parse("v=").is_err());
    }
}
