//! TEMPORARY placeholder for the MAIL/RCPT parameter layer (replaced by the params branch).
#![allow(missing_docs)]
use std::borrow::Cow;

use crate::{ParseOptions, SyntaxError, SyntaxErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param<'a> {
    pub keyword: Cow<'a, str>,
    pub value: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams<'a> {
    pub size: Option<u64>,
    pub other: Vec<Param<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams<'a> {
    pub other: Vec<Param<'a>>,
}

fn parse_other<'a>(input: &'a [u8]) -> Result<Vec<Param<'a>>, SyntaxError> {
    let mut v = Vec::new();
    for p in input.split(|&b| b == b' ').filter(|p| !p.is_empty()) {
        let s = std::str::from_utf8(p)
            .map_err(|_| SyntaxError::new(SyntaxErrorKind::Arguments, "utf8"))?;
        let (k, val) = match s.split_once('=') {
            Some((k, v)) => (k, Some(Cow::Borrowed(v))),
            None => (s, None),
        };
        v.push(Param {
            keyword: Cow::Borrowed(k),
            value: val,
        });
    }
    Ok(v)
}

fn write_other(other: &[Param<'_>], out: &mut Vec<u8>) {
    for p in other {
        out.push(b' ');
        out.extend_from_slice(p.keyword.as_bytes());
        if let Some(v) = &p.value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
}

impl<'a> MailParams<'a> {
    pub fn parse(input: &'a [u8], _opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Ok(MailParams {
            size: None,
            other: parse_other(input)?,
        })
    }
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_other(&self.other, out)
    }
    pub fn is_empty(&self) -> bool {
        self.other.is_empty() && self.size.is_none()
    }
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            other: self
                .other
                .into_iter()
                .map(|p| Param {
                    keyword: Cow::Owned(p.keyword.into_owned()),
                    value: p.value.map(|v| Cow::Owned(v.into_owned())),
                })
                .collect(),
        }
    }
}

impl<'a> RcptParams<'a> {
    pub fn parse(input: &'a [u8], _opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Ok(RcptParams {
            other: parse_other(input)?,
        })
    }
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_other(&self.other, out)
    }
    pub fn is_empty(&self) -> bool {
        self.other.is_empty()
    }
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            other: self
                .other
                .into_iter()
                .map(|p| Param {
                    keyword: Cow::Owned(p.keyword.into_owned()),
                    value: p.value.map(|v| Cow::Owned(v.into_owned())),
                })
                .collect(),
        }
    }
}
