//! Writes `permissions.rs` into `OUT_DIR`: one constant per permission of `catalog.json`
//! (`SERVICE_TOKENS_READ` for `service_tokens:read`), so that code naming a permission the
//! catalog lacks does not compile. A resource's index is its place in the catalog (account
//! resources, then project resources), as [`crate::catalog`] numbers them at start-up; a unit
//! test holds each constant to the name it prints.

use std::fmt::Write as _;

fn main() {
    println!("cargo::rerun-if-changed=catalog.json");
    let text = std::fs::read_to_string("catalog.json").unwrap_or_else(|e| fail(&e.to_string()));
    let catalog: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| fail(&e.to_string()));
    let mut slugs = Vec::new();
    for level in ["account", "project"] {
        let list = catalog["resources"][level]
            .as_array()
            .unwrap_or_else(|| fail(&format!("resources.{level} is not a list")));
        for slug in list {
            slugs.push(
                slug.as_str()
                    .unwrap_or_else(|| fail("a resource slug is not a string"))
                    .to_owned(),
            );
        }
    }
    let mut out = String::new();
    for (index, slug) in slugs.iter().enumerate() {
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            fail(&format!("resource slug {slug:?} is not snake_case"));
        }
        for (access, variant) in [("read", "Read"), ("write", "Write")] {
            let name = format!(
                "{}_{}",
                slug.to_ascii_uppercase(),
                access.to_ascii_uppercase()
            );
            let _ = writeln!(
                out,
                "/// `{slug}:{access}`.\npub const {name}: Permission = Permission {{ resource: Resource({index}), access: Access::{variant} }};"
            );
        }
    }
    let _ = writeln!(
        out,
        "/// Every constant above, with the name it prints as.\n#[cfg(test)]\npub(crate) const ALL: &[(&str, Permission)] = &[{}];",
        slugs
            .iter()
            .flat_map(|s| {
                ["read", "write"].map(|a| {
                    format!("(\"{s}:{a}\", {}_{})", s.to_ascii_uppercase(), a.to_ascii_uppercase())
                })
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let dir = std::env::var("OUT_DIR").unwrap_or_else(|e| fail(&e.to_string()));
    std::fs::write(format!("{dir}/permissions.rs"), out).unwrap_or_else(|e| fail(&e.to_string()));
}

fn fail(why: &str) -> ! {
    eprintln!("latchkey-core build: catalog.json: {why}");
    std::process::exit(1)
}
