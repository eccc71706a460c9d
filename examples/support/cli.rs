//! What both example command lines share: values checked by a function,
//! whose errors name the flag (`error: --hostname: …`), with the usage
//! line and exit status 2, as clap's own errors.

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// A clap value parser from a checking function.
#[derive(Clone)]
pub struct Checked<T>(pub fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Checked<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg.and_then(clap::Arg::get_long).unwrap_or("value");
        let why = match value.to_str() {
            Some(v) => match (self.0)(v) {
                Ok(t) => return Ok(t),
                Err(why) => why,
            },
            None => "not UTF-8".to_owned(),
        };
        Err(cmd
            .clone()
            .error(ErrorKind::ValueValidation, format!("--{flag}: {why}")))
    }
}

/// `NAME:PASSWORD`, split at the first colon (the password may hold more).
pub fn user(v: &str) -> Result<(String, String), String> {
    match v.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.into(), password.into())),
        _ => Err(format!("{v:?}: want NAME:PASSWORD")),
    }
}
