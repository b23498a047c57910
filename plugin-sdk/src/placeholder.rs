//! `{{secret:NAME}}` placeholders: finding, substituting and redacting them. The host and the
//! native test harness share this code so that a plugin tested natively sees exactly what it will
//! see in production.

/// Opens a placeholder.
const OPEN: &[u8] = b"{{secret:";
/// Closes a placeholder.
const CLOSE: &[u8] = b"}}";
/// Secret values shorter than this are not searched for in responses: redacting every `ab` of a
/// body would corrupt it. Such a secret is too weak to be one anyway.
pub const MIN_REDACTED_LEN: usize = 4;

/// Whether `text` contains anything that opens a placeholder.
pub fn contains_placeholder(text: &[u8]) -> bool {
    find(text, OPEN, 0).is_some()
}

/// Replaces every `{{secret:NAME}}` in `text` with `lookup(NAME)`. Fails with the first name
/// `lookup` refuses (so that nothing half-substituted is ever sent), or with a message for an
/// unterminated placeholder.
pub fn substitute<'a>(
    text: &[u8],
    lookup: impl FnMut(&str) -> Option<&'a [u8]>,
) -> Result<Vec<u8>, SubstituteError> {
    substitute_within(text, lookup, usize::MAX)
}

/// [`substitute`], failing with [`SubstituteError::TooLarge`] as soon as the result would exceed
/// `max` bytes: a short text of placeholders can expand to far more than was checked before
/// substitution, so the size that counts is the one after it, and it is checked while expanding.
pub fn substitute_within<'a>(
    text: &[u8],
    mut lookup: impl FnMut(&str) -> Option<&'a [u8]>,
    max: usize,
) -> Result<Vec<u8>, SubstituteError> {
    let mut out = Vec::with_capacity(text.len().min(max));
    let mut at = 0;
    while let Some(start) = find(text, OPEN, at) {
        if out.len() + (start - at) > max {
            return Err(SubstituteError::TooLarge(max));
        }
        out.extend_from_slice(&text[at..start]);
        let name_start = start + OPEN.len();
        let Some(end) = find(text, CLOSE, name_start) else {
            return Err(SubstituteError::Unterminated);
        };
        let name = String::from_utf8_lossy(&text[name_start..end]).into_owned();
        match lookup(&name) {
            Some(value) if out.len() + value.len() <= max => out.extend_from_slice(value),
            Some(_) => return Err(SubstituteError::TooLarge(max)),
            None => return Err(SubstituteError::NotGranted(name)),
        }
        at = end + CLOSE.len();
    }
    if out.len() + (text.len() - at) > max {
        return Err(SubstituteError::TooLarge(max));
    }
    out.extend_from_slice(&text[at..]);
    Ok(out)
}

/// Why a substitution was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstituteError {
    /// The secret does not exist or is not granted to this plugin.
    NotGranted(String),
    /// `{{secret:` without a closing `}}`.
    Unterminated,
    /// The text with its secrets substituted would be larger than this many bytes.
    TooLarge(usize),
}

/// Replaces every occurrence of a secret's value in `data` with its placeholder. Returns `None`
/// when nothing had to be replaced (the common case: no copy).
pub fn redact(data: &[u8], secrets: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let mut current: Option<Vec<u8>> = None;
    for (name, value) in secrets {
        if value.len() < MIN_REDACTED_LEN {
            continue;
        }
        let source = current.as_deref().unwrap_or(data);
        if find(source, value, 0).is_none() {
            continue;
        }
        let placeholder = format!("{{{{secret:{name}}}}}");
        let mut out = Vec::with_capacity(source.len());
        let mut at = 0;
        while let Some(i) = find(source, value, at) {
            out.extend_from_slice(&source[at..i]);
            out.extend_from_slice(placeholder.as_bytes());
            at = i + value.len();
        }
        out.extend_from_slice(&source[at..]);
        current = Some(out);
    }
    current
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_granted_secrets_and_refuses_others() {
        let lookup = |name: &str| (name == "key").then_some(&b"s3cr3t"[..]);
        assert_eq!(
            substitute(b"Bearer {{secret:key}}!", lookup).unwrap(),
            b"Bearer s3cr3t!".to_vec()
        );
        assert_eq!(
            substitute(b"{{secret:other}}", lookup),
            Err(SubstituteError::NotGranted("other".into()))
        );
        assert_eq!(
            substitute(b"x {{secret:key", lookup),
            Err(SubstituteError::Unterminated)
        );
        assert_eq!(substitute(b"plain", lookup).unwrap(), b"plain".to_vec());
    }

    #[test]
    fn substitution_stops_once_the_result_would_pass_the_cap() {
        let lookup = |_: &str| Some(&b"0123456789"[..]);
        // 3 placeholders of 12 bytes expand to 30 bytes.
        let text = b"{{secret:k}}{{secret:k}}{{secret:k}}";
        assert_eq!(substitute_within(text, lookup, 30).unwrap().len(), 30);
        assert_eq!(
            substitute_within(text, lookup, 29),
            Err(SubstituteError::TooLarge(29))
        );
        assert_eq!(
            substitute_within(b"{{secret:k}} and more text", lookup, 20),
            Err(SubstituteError::TooLarge(20))
        );
    }

    #[test]
    fn redacts_every_occurrence_and_skips_short_values() {
        let out = redact(b"a s3cr3t b s3cr3t", &[("key", b"s3cr3t"), ("pin", b"ab")]).unwrap();
        assert_eq!(out, b"a {{secret:key}} b {{secret:key}}".to_vec());
        assert!(redact(b"nothing here ab", &[("key", b"s3cr3t"), ("pin", b"ab")]).is_none());
    }
}
