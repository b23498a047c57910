//! Cross-references (`system:type/id`): parsing with the host's length caps, the typed error of
//! the xref calls, and an in-memory map with the host's semantics (the native harness and the
//! host's in-memory store use it; the engine keeps them in Postgres).

use std::fmt;

use crate::PluginError;

/// Longest system name, in bytes.
pub const MAX_SYSTEM_LEN: usize = 64;
/// Longest record type, in bytes.
pub const MAX_KIND_LEN: usize = 128;
/// Longest record id, in bytes.
pub const MAX_ID_LEN: usize = 512;

/// A parsed reference `system:type/id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrefRef<'a> {
    /// The system, e.g. `odoo`.
    pub system: &'a str,
    /// The record type, e.g. `res.partner`.
    pub kind: &'a str,
    /// The record's id in that system.
    pub id: &'a str,
}

/// Why an xref call failed, by what the plugin should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrefError {
    /// An argument (`reference`, `system`, `a` or `b`) is malformed or too long: not retried.
    Invalid {
        /// The parameter's name.
        argument: String,
        /// What is wrong with it.
        message: String,
    },
    /// The store did not answer; a later attempt may succeed.
    Unavailable(String),
    /// The attempt made as many xref calls as its limits allow.
    TooManyCalls(u32),
}

impl XrefError {
    /// An invalid `argument`.
    pub fn invalid(argument: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            argument: argument.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for XrefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid { argument, message } => write!(f, "xref `{argument}`: {message}"),
            Self::Unavailable(m) => write!(f, "xref store unavailable, retry: {m}"),
            Self::TooManyCalls(n) => write!(f, "attempt made its limit of {n} xref calls"),
        }
    }
}

impl std::error::Error for XrefError {}

impl From<XrefError> for PluginError {
    /// A refused argument is bad input (the field names the xref argument, e.g. `xref.a`); an
    /// unavailable store passes; the call limit is a plugin bug that retrying repeats.
    fn from(e: XrefError) -> Self {
        match &e {
            XrefError::Invalid { argument, .. } => {
                PluginError::invalid_field(format!("xref.{argument}"), e.to_string())
            }
            XrefError::Unavailable(_) => PluginError::retryable(e.to_string()),
            XrefError::TooManyCalls(_) => {
                PluginError::permanent("xref-too-many-calls", e.to_string())
            }
        }
    }
}

/// Parses `system:type/id`. The system is lower-case letters, digits and `-`; type and id are
/// non-empty, without control characters, and each part within its length cap.
pub fn parse_ref(reference: &str) -> Result<XrefRef<'_>, String> {
    let shown = shorten(reference);
    let bad = || format!("`{shown}` is not a reference of the form `system:type/id`");
    let (system, rest) = reference.split_once(':').ok_or_else(bad)?;
    let (kind, id) = rest.split_once('/').ok_or_else(bad)?;
    check_system(system).map_err(|_| bad())?;
    if kind.is_empty() || id.is_empty() {
        return Err(bad());
    }
    for (part, text, cap) in [("type", kind, MAX_KIND_LEN), ("id", id, MAX_ID_LEN)] {
        if text.len() > cap {
            return Err(format!(
                "`{shown}`: the {part} is {} bytes, at most {cap} are allowed",
                text.len()
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(format!(
                "`{shown}`: the {part} contains a control character"
            ));
        }
    }
    Ok(XrefRef { system, kind, id })
}

/// Checks a system name: lower-case letters, digits and `-`, at most [`MAX_SYSTEM_LEN`] bytes.
pub fn check_system(system: &str) -> Result<(), String> {
    let ok = !system.is_empty()
        && system.len() <= MAX_SYSTEM_LEN
        && system
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a system name: lower-case letters, digits and `-`, at most \
             {MAX_SYSTEM_LEN}",
            shorten(system)
        ))
    }
}

/// The arguments of `get`, checked.
pub fn check_get(reference: &str, system: &str) -> Result<(), XrefError> {
    parse_ref(reference).map_err(|m| XrefError::invalid("reference", m))?;
    check_system(system).map_err(|m| XrefError::invalid("system", m))
}

/// The arguments of `put` and `unlink`, checked: two references of different systems.
pub fn check_link<'a>(a: &'a str, b: &'a str) -> Result<(XrefRef<'a>, XrefRef<'a>), XrefError> {
    let ra = parse_ref(a).map_err(|m| XrefError::invalid("a", m))?;
    let rb = parse_ref(b).map_err(|m| XrefError::invalid("b", m))?;
    if ra.system == rb.system {
        return Err(XrefError::invalid(
            "b",
            format!(
                "`{}` and `{}` are in the same system",
                shorten(a),
                shorten(b)
            ),
        ));
    }
    Ok((ra, rb))
}

/// At most 100 characters of `text`, for messages: a refused argument may be megabytes.
fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(100).collect();
    let head: String = head
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// One tenant's links, in memory.
#[derive(Debug, Default, Clone)]
pub struct XrefMap {
    links: Vec<(String, String)>,
}

impl XrefMap {
    /// The reference in `system` linked to `from`.
    pub fn get(&self, from: &str, system: &str) -> Result<Option<String>, XrefError> {
        check_get(from, system)?;
        Ok(self.links.iter().find_map(|(a, b)| {
            let other = if a == from {
                b
            } else if b == from {
                a
            } else {
                return None;
            };
            parse_ref(other)
                .ok()
                .filter(|r| r.system == system)
                .map(|_| other.clone())
        }))
    }

    /// Links `a` and `b` (of different systems), replacing earlier links of either to the
    /// other's system.
    pub fn put(&mut self, a: &str, b: &str) -> Result<(), XrefError> {
        let (ra, rb) = check_link(a, b)?;
        let system_of = |r: &str| {
            parse_ref(r)
                .map(|r| r.system.to_owned())
                .unwrap_or_default()
        };
        self.links.retain(|(x, y)| {
            let replaced = |from: &str, to_system: &str| {
                (x == from && system_of(y) == to_system) || (y == from && system_of(x) == to_system)
            };
            !replaced(a, rb.system) && !replaced(b, ra.system)
        });
        self.links.push((a.to_owned(), b.to_owned()));
        Ok(())
    }

    /// Removes the link between `a` and `b`; `false` if they were not linked.
    pub fn unlink(&mut self, a: &str, b: &str) -> Result<bool, XrefError> {
        check_link(a, b)?;
        let before = self.links.len();
        self.links
            .retain(|(x, y)| !((x == a && y == b) || (x == b && y == a)));
        Ok(self.links.len() < before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_both_ways_and_replaces_old_links() {
        let mut m = XrefMap::default();
        m.put("crm:account/1", "odoo:res.partner/42").unwrap();
        assert_eq!(
            m.get("crm:account/1", "odoo").unwrap().as_deref(),
            Some("odoo:res.partner/42")
        );
        assert_eq!(
            m.get("odoo:res.partner/42", "crm").unwrap().as_deref(),
            Some("crm:account/1")
        );
        assert_eq!(m.get("crm:account/1", "shop").unwrap(), None);
        m.put("crm:account/1", "odoo:res.partner/43").unwrap();
        assert_eq!(
            m.get("crm:account/1", "odoo").unwrap().as_deref(),
            Some("odoo:res.partner/43")
        );
        assert_eq!(m.get("odoo:res.partner/42", "crm").unwrap(), None);
    }

    #[test]
    fn refuses_malformed_and_same_system_links_naming_the_argument() {
        let mut m = XrefMap::default();
        let argument = |e: XrefError| match e {
            XrefError::Invalid { argument, .. } => argument,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            argument(m.put("crm-account-1", "odoo:res.partner/42").unwrap_err()),
            "a"
        );
        assert_eq!(
            argument(m.put("crm:account/1", "crm:account/2").unwrap_err()),
            "b"
        );
        assert_eq!(argument(m.get("odoo:/1", "crm").unwrap_err()), "reference");
        assert_eq!(argument(m.get("odoo:x/1", "CRM").unwrap_err()), "system");
    }

    #[test]
    fn each_part_of_a_reference_is_capped_and_free_of_control_characters() {
        let system = "s".repeat(MAX_SYSTEM_LEN);
        let kind = "k".repeat(MAX_KIND_LEN);
        let id = "i".repeat(MAX_ID_LEN);
        assert!(parse_ref(&format!("{system}:{kind}/{id}")).is_ok());
        for long in [
            format!("{system}s:{kind}/{id}"),
            format!("{system}:{kind}k/{id}"),
            format!("{system}:{kind}/{id}i"),
        ] {
            let e = parse_ref(&long).unwrap_err();
            assert!(e.len() < 300, "the message quotes at most a prefix: {e}");
        }
        assert!(parse_ref("odoo:res.partner/4\u{0}2").is_err());
        assert!(parse_ref("odoo:res\npartner/42").is_err());
    }

    #[test]
    fn unlink_removes_only_that_link_and_says_whether_it_did() {
        let mut m = XrefMap::default();
        m.put("crm:account/1", "odoo:res.partner/42").unwrap();
        m.put("crm:account/1", "shop:customer/9").unwrap();
        assert!(!m.unlink("crm:account/1", "odoo:res.partner/43").unwrap());
        assert!(m.unlink("odoo:res.partner/42", "crm:account/1").unwrap());
        assert_eq!(m.get("crm:account/1", "odoo").unwrap(), None);
        assert_eq!(m.get("odoo:res.partner/42", "crm").unwrap(), None);
        assert!(m.get("crm:account/1", "shop").unwrap().is_some());
        assert!(!m.unlink("crm:account/1", "odoo:res.partner/42").unwrap());
    }

    #[test]
    fn errors_map_to_the_class_that_says_what_to_do_next() {
        let invalid: PluginError = XrefError::invalid("a", "bad").into();
        assert!(
            matches!(invalid, PluginError::InvalidInput { field: Some(f), .. } if f == "xref.a")
        );
        assert!(PluginError::from(XrefError::Unavailable("down".into())).is_retryable());
        let limit = PluginError::from(XrefError::TooManyCalls(64));
        assert!(
            matches!(limit, PluginError::Permanent { code, .. } if code == "xref-too-many-calls")
        );
    }
}
