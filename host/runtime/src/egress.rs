//! The per-tenant allow-list for outbound HTTP: which scheme, host, port, path prefix and methods
//! a plugin may call, and which secrets may travel there. Which addresses names may resolve to is
//! the deployment's decision, in `address`.

pub(crate) mod address;

use serde::{Deserialize, Serialize};
use url::Url;

/// One grant: requests matching it are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressRule {
    /// `http` or `https`.
    pub scheme: String,
    /// Lower-case host name, or `*.example.com` for any subdomain of `example.com`.
    pub host: String,
    /// The port (the scheme's default when the rule's URL has none).
    pub port: u16,
    /// Requests' paths must equal this or continue it after a `/`. `/` allows every path.
    pub path_prefix: String,
    /// Allowed methods (upper case); empty allows all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Secrets that may be substituted into requests to this destination; `None` allows every
    /// secret granted to the plugin. Pinning an API key to its API keeps a plugin from sending it
    /// to another allowed host.
    #[serde(default)]
    pub secrets: Option<Vec<String>>,
}

impl EgressRule {
    /// A rule from a base URL such as `https://example.odoo.com` or `http://127.0.0.1:8069/json/2`.
    pub fn from_url(base: &str) -> Result<Self, String> {
        // `*.example.com` is not a URL host; parse without the wildcard, then put it back.
        let wildcard = base.contains("://*.");
        let parsed = if wildcard {
            base.replacen("://*.", "://", 1)
        } else {
            base.to_owned()
        };
        let url = Url::parse(&parsed).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        let scheme = url.scheme().to_owned();
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{base}`: only http and https can be allowed"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{base}` has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("`{base}` has no port"))?;
        let mut path_prefix = url.path().to_owned();
        if path_prefix.len() > 1 && path_prefix.ends_with('/') {
            path_prefix.pop();
        }
        let host = if wildcard {
            format!("*.{host}")
        } else {
            host.to_owned()
        };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path_prefix,
            methods: Vec::new(),
            secrets: None,
        })
    }

    /// Restricts the rule to `methods`.
    #[must_use]
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Restricts which secrets may be sent to this destination.
    #[must_use]
    pub fn secrets(mut self, names: &[&str]) -> Self {
        self.secrets = Some(names.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    fn matches(&self, method: &str, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let host_ok = match self.host.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == self.host,
        };
        let path = url.path();
        let path_ok = self.path_prefix == "/"
            || path == self.path_prefix
            || path
                .strip_prefix(&self.path_prefix)
                .is_some_and(|rest| rest.starts_with('/'));
        host_ok
            && url.scheme() == self.scheme
            && url.port_or_known_default() == Some(self.port)
            && path_ok
            && (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
    }
}

/// A tenant's allow-list for one plugin. Empty denies everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressPolicy {
    /// The grants.
    pub rules: Vec<EgressRule>,
}

impl EgressPolicy {
    /// A policy of these rules.
    pub fn new(rules: Vec<EgressRule>) -> Self {
        Self { rules }
    }

    /// The rule that allows `method` on `url`, or why none does.
    pub fn check(&self, method: &str, url: &Url) -> Result<&EgressRule, String> {
        if url.username() != "" || url.password().is_some() {
            return Err(
                "credentials in the URL are refused; send them in a header with a \
                        {{secret:NAME}} placeholder"
                    .to_owned(),
            );
        }
        // Encoded dots and slashes let a path climb out of an allowed prefix on some servers.
        let lower = url.path().to_ascii_lowercase();
        if ["%2e", "%2f", "%5c"].iter().any(|enc| lower.contains(enc)) {
            return Err(format!(
                "path `{}` contains an encoded `.`, `/` or `\\`",
                url.path()
            ));
        }
        self.rules
            .iter()
            .find(|r| r.matches(method, url))
            .ok_or_else(|| {
                format!(
                    "{method} {}://{}:{}{} is not on the tenant's allow-list for this plugin",
                    url.scheme(),
                    url.host_str().unwrap_or_default(),
                    url.port_or_known_default().unwrap_or_default(),
                    url.path()
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn allows_only_matching_scheme_host_port_path_and_method() {
        let policy = EgressPolicy::new(vec![
            EgressRule::from_url("https://api.example.com/v1/")
                .unwrap()
                .methods(&["get", "post"]),
        ]);
        assert!(
            policy
                .check("GET", &url("https://api.example.com/v1/orders?x=1"))
                .is_ok()
        );
        assert!(
            policy
                .check("POST", &url("https://API.example.com:443/v1"))
                .is_ok()
        );
        for (method, u) in [
            ("DELETE", "https://api.example.com/v1/orders"),
            ("GET", "http://api.example.com/v1/orders"),
            ("GET", "https://api.example.com:8443/v1/orders"),
            ("GET", "https://api.example.com/v10/orders"),
            ("GET", "https://api.example.com/admin"),
            ("GET", "https://evil.example.com/v1/orders"),
            ("GET", "https://api.example.com.evil.net/v1/orders"),
            ("GET", "https://api.example.com/v1/%2e%2e/admin"),
            ("GET", "https://user:pw@api.example.com/v1/orders"),
        ] {
            assert!(
                policy.check(method, &url(u)).is_err(),
                "{method} {u} should be denied"
            );
        }
    }

    #[test]
    fn wildcard_hosts_match_subdomains_only() {
        let policy = EgressPolicy::new(vec![EgressRule::from_url("https://*.odoo.com").unwrap()]);
        assert!(
            policy
                .check("POST", &url("https://acme.odoo.com/json/2/res.partner"))
                .is_ok()
        );
        assert!(policy.check("POST", &url("https://odoo.com/")).is_err());
        assert!(policy.check("POST", &url("https://acmeodoo.com/")).is_err());
        assert!(
            EgressPolicy::default()
                .check("GET", &url("https://a.b/"))
                .is_err()
        );
    }

    #[test]
    fn rejects_non_http_rules() {
        assert!(EgressRule::from_url("ftp://files.example.com").is_err());
        assert!(EgressRule::from_url("not a url").is_err());
    }
}
