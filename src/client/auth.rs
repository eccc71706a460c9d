//! The client side of SASL in AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN,
//! CRAM-MD5 (RFC 2195), XOAUTH2 and OAUTHBEARER (RFC 7628).

use base64::Engine;

use super::config::ClientCredentials;
use crate::command::SaslResponse;
use crate::ehlo::Mechanism;
use crate::sasl::md5::{hex, hmac_md5};

/// Picks the mechanism: the caller's if given (and offered), else the
/// first the credentials allow (strongest first) that the server offers.
pub(crate) fn choose(
    creds: &ClientCredentials,
    wanted: Option<&Mechanism>,
    offered: &[Mechanism],
) -> Option<Mechanism> {
    match wanted {
        Some(m) => offered.contains(m).then(|| m.clone()),
        None => creds
            .mechanisms()
            .iter()
            .find(|m| offered.contains(m))
            .cloned(),
    }
}

/// One exchange in progress.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) mechanism: Mechanism,
    /// How many 334 challenges were answered.
    step: u8,
    /// The initial response went with the command.
    sent_initial: bool,
}

fn b64(bytes: &[u8]) -> SaslResponse<'static> {
    SaslResponse::encode(bytes)
}

impl Exchange {
    pub(crate) fn new(mechanism: Mechanism) -> Self {
        Self {
            mechanism,
            step: 0,
            sent_initial: false,
        }
    }

    /// The response the mechanism sends first, if it is client-first.
    fn first(&self, creds: &ClientCredentials) -> Option<Vec<u8>> {
        match (&self.mechanism, creds) {
            (
                Mechanism::Plain,
                ClientCredentials::Password {
                    authzid,
                    username,
                    password,
                },
            ) => {
                let mut v = Vec::new();
                v.extend_from_slice(authzid.as_deref().unwrap_or("").as_bytes());
                v.push(0);
                v.extend_from_slice(username.as_bytes());
                v.push(0);
                v.extend_from_slice(password.expose().as_bytes());
                Some(v)
            }
            (Mechanism::XOAuth2, ClientCredentials::OAuth { username, token }) => Some(
                format!("user={username}\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
            ),
            (Mechanism::OAuthBearer, ClientCredentials::OAuth { username, token }) => Some(
                format!(
                    "n,a={},\x01auth=Bearer {}\x01\x01",
                    gs2_escape(username),
                    token.expose()
                )
                .into_bytes(),
            ),
            _ => None,
        }
    }

    /// The AUTH command's initial response: sent when it keeps the line
    /// within `max_line` (RFC 4954 §4; RFC 5321 §4.5.3.1.4's 512 octets).
    pub(crate) fn initial(
        &mut self,
        creds: &ClientCredentials,
        max_line: usize,
    ) -> Option<SaslResponse<'static>> {
        let first = self.first(creds)?;
        let response = b64(&first);
        // "AUTH " + mechanism + " " + response + CRLF.
        let mut len = 8usize.saturating_add(self.mechanism.as_str().len());
        if let SaslResponse::Data(s) = &response {
            len = len.saturating_add(s.len());
        }
        if len <= max_line {
            self.sent_initial = true;
            Some(response)
        } else {
            None
        }
    }

    /// The answer to a 334 challenge (`challenge` is the decoded text);
    /// `None` when the exchange cannot go on (the caller cancels with `*`).
    pub(crate) fn respond(
        &mut self,
        creds: &ClientCredentials,
        challenge: Option<&[u8]>,
    ) -> SaslResponse<'static> {
        self.step = self.step.saturating_add(1);
        match (&self.mechanism, creds) {
            (Mechanism::Plain | Mechanism::XOAuth2 | Mechanism::OAuthBearer, _)
                if !self.sent_initial && self.step == 1 =>
            {
                match self.first(creds) {
                    Some(first) => b64(&first),
                    None => SaslResponse::Cancel,
                }
            }
            // An error challenge after the token (RFC 7628 §3.2.3): answer
            // with %x01 and let the server fail the exchange.
            (Mechanism::OAuthBearer, _) => b64(b"\x01"),
            // XOAUTH2 sends its error as a challenge; an empty response
            // makes the server finish with 535.
            (Mechanism::XOAuth2, _) => SaslResponse::Empty,
            (Mechanism::Login, ClientCredentials::Password { username, .. }) if self.step == 1 => {
                b64(username.as_bytes())
            }
            (Mechanism::Login, ClientCredentials::Password { password, .. }) if self.step == 2 => {
                b64(password.expose().as_bytes())
            }
            (
                Mechanism::CramMd5,
                ClientCredentials::Password {
                    username, password, ..
                },
            ) if self.step == 1 => match challenge {
                Some(c) => {
                    let digest = hex(&hmac_md5(password.expose().as_bytes(), c));
                    b64(format!("{username} {digest}").as_bytes())
                }
                None => SaslResponse::Cancel,
            },
            _ => SaslResponse::Cancel,
        }
    }
}

/// RFC 5801 §4: `,` and `=` in a GS2 authzid are escaped.
fn gs2_escape(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// Decodes a 334 challenge's text (lenient: invalid base64 gives `None`).
pub(crate) fn decode_challenge(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.strip_suffix(b" ").unwrap_or(text);
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_mechanism_both_allow() {
        let pw = ClientCredentials::password("u", "p");
        let offered = [Mechanism::Login, Mechanism::Plain];
        assert_eq!(choose(&pw, None, &offered), Some(Mechanism::Plain));
        let offered = [Mechanism::Login, Mechanism::CramMd5, Mechanism::Plain];
        assert_eq!(choose(&pw, None, &offered), Some(Mechanism::CramMd5));
        assert_eq!(
            choose(&pw, Some(&Mechanism::Login), &offered),
            Some(Mechanism::Login)
        );
        assert_eq!(choose(&pw, Some(&Mechanism::XOAuth2), &offered), None);
        let tok = ClientCredentials::oauth("u", "t");
        assert_eq!(choose(&tok, None, &offered), None);
    }

    #[test]
    fn cram_md5_rfc2195_example() {
        let creds = ClientCredentials::password("tim", "tanstaaftanstaaf");
        let mut x = Exchange::new(Mechanism::CramMd5);
        assert!(x.initial(&creds, 512).is_none());
        let r = x.respond(&creds, Some(b"<1896.697170952@postoffice.reston.mci.net>"));
        assert_eq!(
            r,
            SaslResponse::Data("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw".into())
        );
    }

    #[test]
    fn initial_response_only_when_it_fits_rfc4954_4() {
        let creds = ClientCredentials::password("u", "p".repeat(600));
        let mut x = Exchange::new(Mechanism::Plain);
        assert!(x.initial(&creds, 512).is_none());
        // Then sent after the empty 334.
        assert!(matches!(
            x.respond(&creds, Some(b"")),
            SaslResponse::Data(_)
        ));
    }
}
