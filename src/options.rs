//! How strictly peer input is parsed.

/// Strict RFC 5321 syntax or the lenient syntax real-world peers need.
///
/// Lenient accepts what deployed peers send beside RFC 5321, among
/// others: a space after
/// `FROM:`/`TO:`, a path without angle brackets, lowercase xtext hex,
/// trailing text after the EHLO domain, trailing white space. Writers
/// always emit the strict form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Strictness {
    /// Exactly the RFC grammar.
    Strict,
    /// What deployed clients send.
    #[default]
    Lenient,
}

/// Options for parsing peer input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Strict or lenient syntax.
    pub strictness: Strictness,
    /// Accept UTF-8 in addresses and parameter values (RFC 6531 §3.3); a
    /// server enables this when it advertises SMTPUTF8.
    pub utf8: bool,
    /// The longest line accepted, CRLF included (RFC 5321 §4.5.3.1.4 sets
    /// 512; extensions raise it, RFC 1869 §4.1.2).
    pub max_line: usize,
}

impl ParseOptions {
    /// The default command-line limit: 512 plus what every supported MAIL
    /// extension may add (RFC 1869 §4.1.2), rounded up.
    pub const DEFAULT_MAX_LINE: usize = 4096;

    /// Strict RFC syntax, no UTF-8.
    pub const fn strict() -> Self {
        Self {
            strictness: Strictness::Strict,
            utf8: false,
            max_line: Self::DEFAULT_MAX_LINE,
        }
    }

    /// Lenient syntax, no UTF-8.
    pub const fn lenient() -> Self {
        Self {
            strictness: Strictness::Lenient,
            utf8: false,
            max_line: Self::DEFAULT_MAX_LINE,
        }
    }

    /// These options with another strictness.
    pub const fn with_strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// These options with UTF-8 allowed or not.
    pub const fn with_utf8(mut self, utf8: bool) -> Self {
        self.utf8 = utf8;
        self
    }

    /// These options with another line limit.
    pub const fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    pub(crate) const fn lenient_mode(&self) -> bool {
        matches!(self.strictness, Strictness::Lenient)
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::lenient()
    }
}
