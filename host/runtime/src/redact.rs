//! Finding secret values in text and replacing them with their placeholders, and the rule a
//! secret must meet before the host sends it anywhere.
//!
//! Redaction is visible to a plugin: it can make a remote echo text it chooses and see which part
//! comes back as a placeholder. Two rules keep that from revealing a secret:
//! - a secret is substituted into a request only if it is long and varied enough that guessing
//!   it through redaction is hopeless ([`weakness`]); a weak one ends the attempt instead;
//! - what a plugin reads (responses, outputs) is searched only for the secrets substituted into
//!   this attempt's requests, so a plugin that never sent a secret cannot probe it at all.

use std::sync::Arc;
use std::time::SystemTime;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

/// Shortest secret value the host substitutes into a request.
pub(crate) const MIN_SECRET_BYTES: usize = 8;
/// Fewest distinct bytes a substituted secret must hold (`aaaaaaaa`, `12121212` are refused).
pub(crate) const MIN_SECRET_DISTINCT_BYTES: usize = 5;
/// Bytes searched between two checks of the attempt's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// Why `value` is too guessable to be sent (and so redacted), or `None` if it is not.
pub(crate) fn weakness(value: &[u8]) -> Option<String> {
    let mut seen = [false; 256];
    for b in value {
        seen[usize::from(*b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    if value.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "it is {} bytes long; at least {MIN_SECRET_BYTES} are required",
            value.len()
        ));
    }
    if distinct < MIN_SECRET_DISTINCT_BYTES {
        return Some(format!(
            "it has {distinct} distinct characters; at least {MIN_SECRET_DISTINCT_BYTES} are \
             required"
        ));
    }
    None
}

/// The attempt's deadline passed while searching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expired;

/// A set of secrets to find, searched for all at once in time linear in the text (a naive
/// search costs the text's length times a secret's length, which a crafted response turns into
/// minutes of host CPU).
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    matcher: Option<Arc<AhoCorasick>>,
    /// Placeholder of each pattern, by pattern index.
    placeholders: Arc<[String]>,
    /// Name and value of each secret, for the fallback when no matcher could be built.
    pairs: Arc<[(String, Vec<u8>)]>,
    longest: usize,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the patterns: they are secret values.
        f.debug_struct("Redactor")
            .field("secrets", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// Finds the values of `secrets` (name, value); empty values are skipped.
    pub fn new<'a>(secrets: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let pairs: Vec<(String, Vec<u8>)> = secrets
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_vec()))
            .collect();
        if pairs.is_empty() {
            return Self::default();
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // A prefilter jumps to candidate positions and confirms each from scratch: on a
            // response made of a secret's prefix repeated that is quadratic again. The bare
            // automaton reads each byte once.
            .prefilter(false)
            // Nor a DFA: building one costs the secrets' length squared for a periodic secret
            // (seconds per attempt). The NFA is built and run in linear time.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(pairs.iter().map(|(_, v)| v))
            .ok()
            .map(Arc::new);
        Self {
            matcher,
            placeholders: pairs
                .iter()
                .map(|(name, _)| format!("{{{{secret:{name}}}}}"))
                .collect(),
            longest: pairs.iter().map(|(_, v)| v.len()).max().unwrap_or(0),
            pairs: pairs.into(),
        }
    }

    /// Length of the longest value searched for.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// `text` with every secret replaced by its placeholder.
    pub fn redact(&self, text: String) -> String {
        // Without a deadline the search cannot expire.
        match self.redact_bytes(text.as_bytes(), None) {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(None) | Err(Expired) => text,
        }
    }

    /// `data` with every secret replaced, or `None` if none occurs. The deadline is checked
    /// every [`CHUNK_BYTES`] searched, so that the host's work for one plugin call stops when
    /// the attempt's time is up.
    pub fn redact_bytes(
        &self,
        data: &[u8],
        deadline: Option<SystemTime>,
    ) -> Result<Option<Vec<u8>>, Expired> {
        if self.pairs.is_empty() {
            return Ok(None);
        }
        let Some(matcher) = &self.matcher else {
            // The matcher could not be built (patterns beyond its size limits): slower, but
            // never a secret left in place.
            let pairs: Vec<(&str, &[u8])> = self
                .pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect();
            return Ok(weft_plugin_sdk::placeholder::redact(data, &pairs));
        };
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut pos = 0;
        while pos < data.len() {
            if deadline.is_some_and(|d| SystemTime::now() >= d) {
                return Err(Expired);
            }
            let chunk_end = pos.saturating_add(CHUNK_BYTES).min(data.len());
            // Matches starting in this chunk are found whole: the span reaches one secret past it.
            let span_end = chunk_end.saturating_add(self.longest).min(data.len());
            let mut next = chunk_end;
            let mut at = pos;
            while at < chunk_end {
                let Some(m) = matcher.find(Input::new(data).span(at..span_end)) else {
                    break;
                };
                if m.start() >= chunk_end {
                    break;
                }
                let placeholder = self
                    .placeholders
                    .get(m.pattern().as_usize())
                    .map_or("{{secret}}", String::as_str);
                let o = out.get_or_insert_with(|| Vec::with_capacity(data.len()));
                o.extend_from_slice(&data[copied..m.start()]);
                o.extend_from_slice(placeholder.as_bytes());
                copied = m.end();
                at = m.end();
                next = next.max(m.end());
            }
            pos = next;
        }
        if let Some(o) = &mut out {
            o.extend_from_slice(&data[copied..]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_uniform_values_are_weak() {
        assert!(weakness(b"4711").is_some());
        assert!(weakness(b"1234567").is_some());
        assert!(weakness(b"12121212121212").is_some());
        assert!(weakness(b"s3cr3t-token").is_none());
    }

    #[test]
    fn every_occurrence_is_replaced_across_chunk_borders() {
        let secret = b"s3cr3t-token";
        let mut data = vec![b'x'; CHUNK_BYTES - 5];
        data.extend_from_slice(secret);
        data.extend_from_slice(b" and ");
        data.extend_from_slice(secret);
        let r = Redactor::new([("key", &secret[..])]);
        let out = r.redact_bytes(&data, None).unwrap().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("x{{secret:key}} and {{secret:key}}"),
            "{}",
            &text[text.len() - 60..]
        );
        assert!(!text.contains("s3cr3t"));
    }

    #[test]
    fn the_longest_overlapping_secret_wins_and_nothing_found_is_no_copy() {
        let r = Redactor::new([("short", &b"abcdefgh"[..]), ("long", &b"abcdefghijk"[..])]);
        assert_eq!(r.redact("<abcdefghijk>".into()), "<{{secret:long}}>");
        assert_eq!(r.redact_bytes(b"nothing here", None), Ok(None));
    }

    #[test]
    fn a_passed_deadline_stops_the_search() {
        let r = Redactor::new([("key", &b"s3cr3t-token"[..])]);
        let past = SystemTime::UNIX_EPOCH;
        assert_eq!(r.redact_bytes(b"s3cr3t-token", Some(past)), Err(Expired));
    }
}
