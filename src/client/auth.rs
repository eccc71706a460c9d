//! The client side of SASL in AUTH (RFC 4954): the choice of mechanism,
//! the machine's side of an exchange (initial response or not, base64,
//! `*`), and the built-in mechanisms behind the same seam an application's
//! own go through ([`ClientExchange`]): PLAIN (RFC 4616), LOGIN, CRAM-MD5
//! (RFC 2195), XOAUTH2, OAUTHBEARER (RFC 7628), EXTERNAL (RFC 4422
//! Appendix A) and SCRAM (RFC 5802, RFC 7677).

use std::fmt;

use base64::Engine;
use zeroize::Zeroizing;

use super::config::{AuthConfig, ClientCredentials};
use super::event::AuthError;
use crate::command::SaslResponse;
use crate::ehlo::Mechanism;
use crate::sasl::md5::{hex, hmac_md5};
use crate::sasl::scram::{ScramClient, ScramHash, ScramParams};
use crate::sasl::{ClientExchange, SaslContext, SaslError};

/// Whether `creds` can start `mechanism` in this context: SCRAM needs a
/// nonce, `-PLUS` channel-binding data.
fn can_start(creds: &ClientCredentials, mechanism: &Mechanism, cx: &SaslContext<'_>) -> bool {
    match creds {
        ClientCredentials::Custom(c) => c.can_start(mechanism, cx),
        _ => match ScramHash::of(mechanism) {
            Some((_, plus)) => cx.nonce.is_some() && (!plus || cx.channel_binding.is_some()),
            None => true,
        },
    }
}

/// Picks the mechanism: the caller's if given (and offered), else the
/// first the credentials allow (strongest first) that the server offers
/// and this session can start.
pub(crate) fn choose(
    creds: &ClientCredentials,
    wanted: Option<&Mechanism>,
    cx: &SaslContext<'_>,
) -> Option<Mechanism> {
    match wanted {
        Some(m) => cx.offered.contains(m).then(|| m.clone()),
        None => creds
            .mechanisms()
            .iter()
            .find(|m| cx.offered.contains(m) && can_start(creds, m, cx))
            .cloned(),
    }
}

/// One exchange in progress, as the machine runs it.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) mechanism: Mechanism,
    inner: Box<dyn ClientExchange>,
    /// An initial response too long for the AUTH line, sent after the
    /// server's first (empty) challenge instead (RFC 4954 §4).
    held: Option<Zeroizing<Vec<u8>>>,
    /// Why the client cancelled with `*`, once it did.
    cancelled: Option<SaslError>,
}

impl Exchange {
    /// Starts `mechanism`; returns the exchange and the AUTH command's
    /// initial response, sent when it keeps the line within `max_line`
    /// (RFC 4954 §4; RFC 5321 §4.5.3.1.4's 512 octets).
    pub(crate) fn start(
        auth: &AuthConfig,
        mechanism: Mechanism,
        cx: &SaslContext<'_>,
        max_line: usize,
    ) -> Result<(Self, Option<SaslResponse<'static>>), SaslError> {
        let mut inner = builtin(auth, &mechanism, cx)?;
        let first = inner.initial_response()?;
        let mut x = Exchange {
            mechanism,
            inner,
            held: None,
            cancelled: None,
        };
        let Some(first) = first.map(Zeroizing::new) else {
            return Ok((x, None));
        };
        let response = SaslResponse::encode(&first);
        // "AUTH " + mechanism + " " + response + CRLF.
        let mut len = 8usize.saturating_add(x.mechanism.as_str().len());
        if let SaslResponse::Data(s) = &response {
            len = len.saturating_add(s.len());
        }
        if len <= max_line {
            Ok((x, Some(response)))
        } else {
            x.held = Some(first);
            Ok((x, None))
        }
    }

    /// The answer to a 334 challenge (`challenge` is the decoded text,
    /// `None` when it was not base64: RFC 4954 §4 then asks for `*`).
    pub(crate) fn respond(&mut self, challenge: Option<&[u8]>) -> SaslResponse<'static> {
        if let Some(first) = self.held.take() {
            return SaslResponse::encode(&first);
        }
        let result = match challenge {
            Some(c) => self.inner.respond(c),
            None => Err(SaslError::Malformed("challenge is not base64")),
        };
        match result {
            Ok(r) => SaslResponse::encode(&Zeroizing::new(r)),
            Err(e) => {
                self.cancelled = Some(e);
                SaslResponse::Cancel
            }
        }
    }

    /// Whether the client has cancelled the exchange with `*`.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.is_some()
    }

    /// The server said 235: whether the mechanism trusts it.
    pub(crate) fn complete(&mut self) -> Result<(), AuthError> {
        self.inner.complete().map_err(|e| error_of(&e))
    }

    /// What a failure reply means: the reason the client cancelled, if
    /// it did, else the reply's code (RFC 4954 §6).
    pub(crate) fn failure(&self, code: u16) -> AuthError {
        match &self.cancelled {
            Some(e) => error_of(e),
            None => AuthError::from_code(code),
        }
    }
}

fn error_of(e: &SaslError) -> AuthError {
    match e {
        SaslError::ServerUnverified => AuthError::ServerUnverified,
        _ => AuthError::Other,
    }
}

/// The exchange for `mechanism` with these credentials.
fn builtin(
    auth: &AuthConfig,
    mechanism: &Mechanism,
    cx: &SaslContext<'_>,
) -> Result<Box<dyn ClientExchange>, SaslError> {
    use ClientCredentials as C;
    const UNUSABLE: SaslError = SaslError::Unusable("the credentials cannot drive it");
    Ok(match (&auth.credentials, mechanism) {
        (C::Custom(c), m) => return c.start(m, cx),
        (
            C::Password {
                authzid,
                username,
                password,
            },
            m,
        ) => {
            if let Some((hash, plus)) = ScramHash::of(m) {
                let nonce = cx.nonce.ok_or(SaslError::Unusable("no nonce was given"))?;
                let bind = match (plus, cx.channel_binding) {
                    (true, None) => return Err(SaslError::Unusable("no channel-binding data")),
                    (true, cb) => cb,
                    (false, _) => None,
                };
                // RFC 5802 §6: `y` when the client could bind but the
                // server offers no -PLUS mechanism.
                let could_bind = cx.channel_binding.is_some()
                    && !cx
                        .offered
                        .iter()
                        .any(|o| ScramHash::of(o).is_some_and(|(_, p)| p));
                return Ok(Box::new(ScramClient::new(ScramParams {
                    hash,
                    username,
                    password: password.expose(),
                    authzid: authzid.as_deref(),
                    nonce,
                    bind,
                    could_bind,
                    max_iterations: auth.max_scram_iterations,
                })?));
            }
            let once = |bytes: Vec<u8>| Once::new(bytes, Vec::new());
            match m {
                Mechanism::Plain => {
                    let mut v = Vec::new();
                    v.extend_from_slice(authzid.as_deref().unwrap_or("").as_bytes());
                    v.push(0);
                    v.extend_from_slice(username.as_bytes());
                    v.push(0);
                    v.extend_from_slice(password.expose().as_bytes());
                    Box::new(once(v))
                }
                Mechanism::Login => Box::new(Login {
                    answers: vec![
                        Zeroizing::new(password.expose().as_bytes().to_vec()),
                        Zeroizing::new(username.as_bytes().to_vec()),
                    ],
                }),
                Mechanism::CramMd5 => Box::new(CramMd5 {
                    username: username.clone(),
                    password: Zeroizing::new(password.expose().to_owned()),
                    done: false,
                }),
                _ => return Err(UNUSABLE),
            }
        }
        (C::OAuth { username, token }, Mechanism::XOAuth2) => Box::new(Once::new(
            format!("user={username}\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
            // XOAUTH2 sends its error as a challenge; an empty response
            // makes the server finish with 535.
            Vec::new(),
        )),
        (C::OAuth { username, token }, Mechanism::OAuthBearer) => {
            let mut gs2 = String::from("n,a=");
            crate::sasl::scram::escape_saslname(username, &mut gs2);
            Box::new(Once::new(
                format!("{gs2},\x01auth=Bearer {}\x01\x01", token.expose()).into_bytes(),
                // An error challenge after the token (RFC 7628 §3.2.3):
                // answer with %x01 and let the server fail the exchange.
                b"\x01".to_vec(),
            ))
        }
        (C::External { authzid }, Mechanism::External) => Box::new(Once::new(
            authzid.as_deref().unwrap_or("").as_bytes().to_vec(),
            Vec::new(),
        )),
        _ => return Err(UNUSABLE),
    })
}

/// A client-first mechanism of one message (PLAIN, XOAUTH2, OAUTHBEARER,
/// EXTERNAL): the response, then `after` to any challenge (an error the
/// server reports that way).
struct Once {
    first: Option<Zeroizing<Vec<u8>>>,
    after: Vec<u8>,
}

impl Once {
    fn new(first: Vec<u8>, after: Vec<u8>) -> Self {
        Once {
            first: Some(Zeroizing::new(first)),
            after,
        }
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

impl ClientExchange for Once {
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(self.first.take().map(|f| f.to_vec()))
    }

    fn respond(&mut self, _: &[u8]) -> Result<Vec<u8>, SaslError> {
        Ok(self.after.clone())
    }
}

/// LOGIN: the user name, then the password, one per challenge.
struct Login {
    /// Still to send, last first.
    answers: Vec<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").finish_non_exhaustive()
    }
}

impl ClientExchange for Login {
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }

    fn respond(&mut self, _: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.answers
            .pop()
            .map(|a| a.to_vec())
            .ok_or(SaslError::Malformed("LOGIN has no third step"))
    }
}

/// CRAM-MD5 (RFC 2195 §2): `user SP hex(HMAC-MD5(password, challenge))`.
struct CramMd5 {
    username: String,
    password: Zeroizing<String>,
    done: bool,
}

impl fmt::Debug for CramMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CramMd5").finish_non_exhaustive()
    }
}

impl ClientExchange for CramMd5 {
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(None)
    }

    fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        if std::mem::replace(&mut self.done, true) {
            return Err(SaslError::Malformed("CRAM-MD5 has one challenge"));
        }
        let digest = hex(&hmac_md5(self.password.as_bytes(), challenge));
        Ok(format!("{} {digest}", self.username).into_bytes())
    }
}

/// Decodes a 334 challenge's text (lenient: invalid base64 gives `None`).
pub(crate) fn decode_challenge(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.strip_suffix(b" ").unwrap_or(text);
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx<'a>(offered: &'a [Mechanism], nonce: Option<&'a str>) -> SaslContext<'a> {
        SaslContext {
            nonce,
            channel_binding: None,
            offered,
        }
    }

    #[test]
    fn strongest_mechanism_both_allow() {
        let pw = ClientCredentials::password("u", "p");
        let offered = [Mechanism::Login, Mechanism::Plain];
        assert_eq!(
            choose(&pw, None, &cx(&offered, None)),
            Some(Mechanism::Plain)
        );
        let offered = [Mechanism::Login, Mechanism::CramMd5, Mechanism::Plain];
        assert_eq!(
            choose(&pw, None, &cx(&offered, None)),
            Some(Mechanism::CramMd5)
        );
        assert_eq!(
            choose(&pw, Some(&Mechanism::Login), &cx(&offered, None)),
            Some(Mechanism::Login)
        );
        assert_eq!(
            choose(&pw, Some(&Mechanism::XOAuth2), &cx(&offered, None)),
            None
        );
        let tok = ClientCredentials::oauth("u", "t");
        assert_eq!(choose(&tok, None, &cx(&offered, None)), None);
    }

    #[test]
    fn scram_first_when_a_nonce_allows_it_rfc7677() {
        let pw = ClientCredentials::password("u", "p");
        let offered = [
            Mechanism::Plain,
            Mechanism::CramMd5,
            Mechanism::ScramSha1,
            Mechanism::ScramSha256,
            Mechanism::ScramSha256Plus,
        ];
        assert_eq!(
            choose(&pw, None, &cx(&offered, Some("n"))),
            Some(Mechanism::ScramSha256)
        );
        // Without a nonce SCRAM cannot start: the next strongest.
        assert_eq!(
            choose(&pw, None, &cx(&offered, None)),
            Some(Mechanism::CramMd5)
        );
        let cb = crate::sasl::ChannelBinding::tls_exporter([1u8; 32]).unwrap();
        let with_cb = SaslContext {
            channel_binding: Some(&cb),
            ..cx(&offered, Some("n"))
        };
        assert_eq!(
            choose(&pw, None, &with_cb),
            Some(Mechanism::ScramSha256Plus)
        );
    }

    fn start(
        creds: ClientCredentials,
        m: Mechanism,
        max_line: usize,
    ) -> (Exchange, Option<SaslResponse<'static>>) {
        Exchange::start(
            &AuthConfig::new(creds),
            m,
            &cx(&[], Some("nonce")),
            max_line,
        )
        .unwrap()
    }

    #[test]
    fn cram_md5_rfc2195_example() {
        let (mut x, initial) = start(
            ClientCredentials::password("tim", "tanstaaftanstaaf"),
            Mechanism::CramMd5,
            512,
        );
        assert!(initial.is_none());
        let r = x.respond(Some(b"<1896.697170952@postoffice.reston.mci.net>"));
        assert_eq!(
            r,
            SaslResponse::Data("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw".into())
        );
    }

    #[test]
    fn initial_response_only_when_it_fits_rfc4954_4() {
        let (mut x, initial) = start(
            ClientCredentials::password("u", "p".repeat(600)),
            Mechanism::Plain,
            512,
        );
        assert!(initial.is_none());
        // Then sent after the empty 334.
        assert!(matches!(x.respond(Some(b"")), SaslResponse::Data(_)));
    }

    #[test]
    fn external_empty_initial_is_an_equals_sign_rfc4954_4() {
        let (_, initial) = start(ClientCredentials::external(None), Mechanism::External, 512);
        let mut out = Vec::new();
        initial.unwrap().write_to(&mut out, true).unwrap();
        assert_eq!(out, b"=");
        let (_, initial) = start(
            ClientCredentials::external(Some("admin".into())),
            Mechanism::External,
            512,
        );
        assert_eq!(initial.unwrap().decode().unwrap(), b"admin");
    }

    #[test]
    fn undecodable_challenge_is_cancelled_rfc4954_4() {
        let (mut x, _) = start(ClientCredentials::password("u", "p"), Mechanism::Login, 512);
        assert_eq!(x.respond(None), SaslResponse::Cancel);
        assert_eq!(x.failure(501), AuthError::Other);
    }

    #[test]
    fn login_answers_two_challenges_then_cancels() {
        let (mut x, initial) = start(ClientCredentials::password("u", "p"), Mechanism::Login, 512);
        assert!(initial.is_none());
        assert_eq!(x.respond(Some(b"Username:")).decode().unwrap(), b"u");
        assert_eq!(x.respond(Some(b"Password:")).decode().unwrap(), b"p");
        assert_eq!(x.respond(Some(b"More:")), SaslResponse::Cancel);
    }
}
