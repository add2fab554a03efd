//! Query strings and form bodies (application/x-www-form-urlencoded), parsed once into a map
//! that remembers repeated names: OAuth forbids repeating a parameter (RFC 6749 §3.1, §3.2).

use std::collections::HashMap;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParamsError {
    #[error("malformed percent-encoding")]
    BadPercent,
    #[error("parameters must be UTF-8")]
    NotUtf8,
    #[error("parameter value too long: {0}")]
    TooLong(String),
}

/// Longest accepted value of one parameter.
pub const MAX_VALUE: usize = 4096;

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: HashMap<String, Vec<String>>,
}

impl Params {
    /// Parses `a=1&b=2`. Unlike a lenient parser, a `%` not followed by two hex digits and bytes
    /// that do not decode to UTF-8 are errors, not silently replaced characters.
    pub fn parse(raw: &str) -> Result<Params, ParamsError> {
        check_percent(raw.as_bytes())?;
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k)?;
            let v = decode(v)?;
            if v.len() > MAX_VALUE {
                return Err(ParamsError::TooLong(k));
            }
            map.entry(k).or_default().push(v);
        }
        Ok(Params { map })
    }

    pub fn parse_bytes(raw: &[u8]) -> Result<Params, ParamsError> {
        Params::parse(std::str::from_utf8(raw).map_err(|_| ParamsError::NotUtf8)?)
    }

    /// The single value of `name`; `Err(())`-free: a repeated name is reported by `repeated`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// True when `name` appears more than once.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| v.len() > 1)
    }

    /// The first repeated name among `names`, if any.
    pub fn repeated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names.iter().copied().find(|n| self.is_repeated(n))
    }

    /// All names, for rules like "parameters sent without a value are treated as omitted".
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every name with its values, for keeping a request (a pushed authorization request).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str())))
    }

    /// Parameters from name-value pairs (each name once: a map's entries).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
        Params { map }
    }

    /// These parameters with `name` set to `value` alone, replacing what it had.
    pub fn set(&mut self, name: &str, value: String) {
        self.map.insert(name.to_string(), vec![value]);
    }

    /// These parameters without `name`.
    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }
}

fn check_percent(raw: &[u8]) -> Result<(), ParamsError> {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let ok = raw.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && raw.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(ParamsError::BadPercent);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Decodes one form-urlencoded component (`+` is a space); invalid UTF-8 is an error.
pub fn decode(s: &str) -> Result<String, ParamsError> {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| ParamsError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decodes() {
        let p = Params::parse("a=1&b=x%20y+z&c=&redirect_uri=https%3A%2F%2Fx").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), Some("x y z"));
        assert_eq!(p.get("c"), None);
        assert_eq!(p.get("redirect_uri"), Some("https://x"));
    }

    #[test]
    fn repeated_names_are_visible() {
        let p = Params::parse("state=a&state=b").unwrap();
        assert!(p.is_repeated("state"));
        assert_eq!(p.repeated(&["scope", "state"]), Some("state"));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(Params::parse("a=%zz").unwrap_err(), ParamsError::BadPercent);
        assert_eq!(Params::parse("a=%e9").unwrap_err(), ParamsError::NotUtf8);
        assert_eq!(Params::parse("a=%").unwrap_err(), ParamsError::BadPercent);
        assert!(Params::parse(&format!("a={}", "x".repeat(MAX_VALUE + 1))).is_err());
    }
}
