//! TEMPORARY placeholder (replaced by the reply-ehlo branch).
#![allow(missing_docs)]
use std::borrow::Cow;
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    CramMd5,
    XOAuth2,
    OAuthBearer,
    Other(Cow<'static, str>),
}
impl Mechanism {
    pub fn parse(s: &[u8]) -> Result<Self, crate::SyntaxError> {
        if s.is_empty()
            || s.len() > 20
            || !s
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            return Err(crate::SyntaxError::new(
                crate::SyntaxErrorKind::Arguments,
                "bad mechanism",
            ));
        }
        let up = String::from_utf8_lossy(s).to_ascii_uppercase();
        Ok(match up.as_str() {
            "PLAIN" => Self::Plain,
            "LOGIN" => Self::Login,
            "CRAM-MD5" => Self::CramMd5,
            "XOAUTH2" => Self::XOAuth2,
            "OAUTHBEARER" => Self::OAuthBearer,
            _ => Self::Other(Cow::Owned(up)),
        })
    }
    pub fn as_str(&self) -> &str {
        match self {
            Self::Plain => "PLAIN",
            Self::Login => "LOGIN",
            Self::CramMd5 => "CRAM-MD5",
            Self::XOAuth2 => "XOAUTH2",
            Self::OAuthBearer => "OAUTHBEARER",
            Self::Other(s) => s,
        }
    }
}
