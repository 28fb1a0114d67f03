//! Shared by the integration tests: an independent reading of `catalog.json` with
//! `serde_json::Value` (never through the crate's compiled table), and small builders.
#![allow(dead_code)]

use latchkey_core::{catalog, Access, Grant, Permission, PermissionSet, Resource};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::Value;
use std::sync::LazyLock;

pub const FILE: &str = include_str!("../../../catalog.json");

static DOC: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(FILE).expect("catalog.json is JSON"));

/// The parsed file.
pub fn doc() -> &'static Value {
    &DOC
}

fn strings(v: &'static Value) -> Vec<&'static str> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|s| s.as_str().expect("a JSON string"))
        .collect()
}

/// Account-level resource slugs, in file order.
pub fn account_resources() -> Vec<&'static str> {
    strings(&doc()["resources"]["account"])
}

/// Project-level resource slugs, in file order.
pub fn project_resources() -> Vec<&'static str> {
    strings(&doc()["resources"]["project"])
}

/// Every resource slug with its level, as the file says.
pub fn resources() -> Vec<(&'static str, bool)> {
    account_resources()
        .into_iter()
        .map(|r| (r, false))
        .chain(project_resources().into_iter().map(|r| (r, true)))
        .collect()
}

/// True if the file lists `res` under `resources.project`.
pub fn is_project_level(res: &str) -> bool {
    project_resources().contains(&res)
}

/// Every set slug of the file.
pub fn set_slugs() -> Vec<&'static str> {
    doc()["permission_sets"]
        .as_object()
        .expect("permission_sets")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The file's word for (set, resource): "none", "read" or "write".
pub fn cell(set: &str, res: &str) -> &'static str {
    let level = if is_project_level(res) {
        "project"
    } else {
        "account"
    };
    doc()["permission_sets"][set][level][res]
        .as_str()
        .unwrap_or_else(|| panic!("no cell {set}.{level}.{res} in catalog.json"))
}

/// True if the word grants the access (write implies read).
pub fn covers(word: &str, access: Access) -> bool {
    match (word, access) {
        ("write", _) => true,
        ("read", Access::Read) => true,
        ("read", Access::Write) | ("none", _) => false,
        (other, _) => panic!("unknown access word {other}"),
    }
}

/// True if the file's plan lists the set.
pub fn plan_lists(plan: &str, set: &str) -> bool {
    strings(&doc()["plans"][plan]).contains(&set)
}

pub fn is_user_only(set: &str) -> bool {
    strings(&doc()["user_only_sets"]).contains(&set)
}

pub fn is_env_capable(set: &str) -> bool {
    strings(&doc()["environment_write_capable_sets"]).contains(&set)
}

/// The (resource, access) pairs a set holds according to the file.
pub fn file_permissions(set: &str) -> Vec<(&'static str, Access)> {
    let mut out = Vec::new();
    for (res, _) in resources() {
        for access in [Access::Read, Access::Write] {
            if covers(cell(set, res), access) {
                out.push((res, access));
            }
        }
    }
    out
}

/// True if every cell of `small` is covered by the same cell of `big` (per the file).
pub fn file_subset(small: &str, big: &str) -> bool {
    file_permissions(small)
        .into_iter()
        .all(|(res, access)| covers(cell(big, res), access))
}

pub fn set(slug: &str) -> PermissionSet {
    catalog()
        .set(slug)
        .unwrap_or_else(|| panic!("no set {slug}"))
}

pub fn resource(slug: &str) -> Resource {
    catalog()
        .resource(slug)
        .unwrap_or_else(|| panic!("no resource {slug}"))
}

pub fn perm(text: &str) -> Permission {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn grant(text: &str) -> Grant {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn grants(texts: &[&str]) -> Vec<Grant> {
    texts.iter().map(|t| grant(t)).collect()
}

/// A fresh seed from the OS, for property runs that should explore new ground each time; the
/// seed goes into every assertion message so a failure can be replayed.
pub fn os_seed() -> u64 {
    OsRng.next_u64()
}
