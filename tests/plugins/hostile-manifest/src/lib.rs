//! A plugin whose manifest is hostile: its one operation declares an output schema that is a
//! chain of `$ref` links tens of thousands long, enough to overflow the host's stack if the host
//! followed it recursively. The host must refuse to load it, and stay up.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "generated canonical-ABI glue")]
mod guest {
    wit_bindgen::generate!({ world: "plugin", path: "../../../wit" });

    use weft::plugin::types::{Capabilities, Operation, PermanentError};

    /// Links in the chain.
    const LINKS: usize = 40_000;

    struct HostileManifest;

    impl Guest for HostileManifest {
        fn describe() -> Manifest {
            let mut defs = String::new();
            for i in 0..LINKS {
                defs.push_str(&format!(r##""d{i}":{{"$ref":"#/$defs/d{}"}},"##, i + 1));
            }
            defs.push_str(&format!(r#""d{LINKS}":{{"type":"object"}}"#));
            let schema = format!(r##"{{"$defs":{{{defs}}},"$ref":"#/$defs/d0"}}"##);
            Manifest {
                name: "hostile-manifest".into(),
                version: "0.1.0".into(),
                description: "Declares an output schema no host can follow recursively".into(),
                operations: vec![Operation {
                    name: "deep".into(),
                    description: String::new(),
                    input_schema: "{}".into(),
                    output_schema: schema,
                    compensated_by: None,
                }],
                capabilities: Capabilities {
                    outbound_hosts: vec![],
                    secrets: vec![],
                    config_keys: vec![],
                },
            }
        }

        fn invoke(_operation: String, _input: String) -> Result<String, PluginError> {
            Err(PluginError::Permanent(PermanentError {
                code: "unreachable".into(),
                message: "a host must not load this plugin".into(),
            }))
        }
    }

    export!(HostileManifest);
}
