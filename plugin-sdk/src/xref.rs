//! Cross-references (`system:type/id`): parsing, and an in-memory map with the host's semantics
//! (the native harness and the host's in-memory store use it; the engine keeps them in Postgres).

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

/// Parses `system:type/id`. The system is lower-case letters, digits and `-`; type and id are
/// non-empty.
pub fn parse_ref(reference: &str) -> Result<XrefRef<'_>, String> {
    let bad = || format!("`{reference}` is not a reference of the form `system:type/id`");
    let (system, rest) = reference.split_once(':').ok_or_else(bad)?;
    let (kind, id) = rest.split_once('/').ok_or_else(bad)?;
    let system_ok = !system.is_empty()
        && system
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !system_ok || kind.is_empty() || id.is_empty() {
        return Err(bad());
    }
    Ok(XrefRef { system, kind, id })
}

/// One tenant's links, in memory.
#[derive(Debug, Default, Clone)]
pub struct XrefMap {
    links: Vec<(String, String)>,
}

impl XrefMap {
    /// The reference in `system` linked to `from`.
    pub fn get(&self, from: &str, system: &str) -> Result<Option<String>, String> {
        parse_ref(from)?;
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
    pub fn put(&mut self, a: &str, b: &str) -> Result<(), String> {
        let (ra, rb) = (parse_ref(a)?, parse_ref(b)?);
        if ra.system == rb.system {
            return Err(format!("`{a}` and `{b}` are in the same system"));
        }
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
    fn refuses_malformed_and_same_system_links() {
        let mut m = XrefMap::default();
        assert!(m.put("crm-account-1", "odoo:res.partner/42").is_err());
        assert!(m.put("crm:account/1", "crm:account/2").is_err());
        assert!(m.get("odoo:/1", "crm").is_err());
    }
}
