//! Who may call a row, said three ways: `x-latchkey-permission`, a sentence of the description,
//! and the operation's `security`.

use crate::routes::table::{Requirement, RouteSpec};
use utoipa::openapi::security::SecurityRequirement;

/// The value of `x-latchkey-permission`: the permission (`resource:access`, on the account or on
/// the project in the path), `authenticated`, `user` or `public`.
pub(super) fn permission_label(requirement: &Requirement) -> String {
    if let Requirement::Permission(permission) | Requirement::OnProject(permission) = requirement {
        permission.to_string()
    } else if *requirement == Requirement::Public {
        "public".to_owned()
    } else if *requirement == Requirement::Authenticated {
        "authenticated".to_owned()
    } else if *requirement == Requirement::User {
        "user".to_owned()
    } else {
        // A requirement this module does not know yet: named by its variant, in snake case.
        snake(&format!("{requirement:?}"))
    }
}

/// `SomeName(x)` → `some_name(x)`, for requirements documented generically.
fn snake(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with(['(', '"', ' ']) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The sentence of an operation's description that states its requirement.
pub(super) fn requirement_text(requirement: &Requirement) -> String {
    if let Requirement::Permission(permission) = requirement {
        format!(
            "Requires a working token holding `{permission}` on the account in the path \
             (`Authorization: Token <token>` or `Bearer <token>`). Without the permission the \
             answer is 403 naming it; another account's resources answer 404."
        )
    } else if let Requirement::OnProject(permission) = requirement {
        format!(
            "Requires a working token holding `{permission}` on the project in the path \
             (`Authorization: Token <token>` or `Bearer <token>`). Without the permission the \
             answer is 403 naming it; another account's projects answer 404."
        )
    } else if *requirement == Requirement::Public {
        "Public: no token needed.".to_owned()
    } else if *requirement == Requirement::Authenticated {
        "Requires any working token (`Authorization: Token <token>` or `Bearer <token>`); no \
         permission is checked by the route itself."
            .to_owned()
    } else if *requirement == Requirement::User {
        "Acts for a user in the account in the path: their personal access token \
         (`Authorization: Token <token>` or `Bearer <token>`), or their e-mail and password \
         (HTTP Basic). Users see and change only their own things; another account answers 404."
            .to_owned()
    } else {
        format!(
            "Requires a working token (`Authorization: Token <token>` or `Bearer <token>`) \
             and `{}`.",
            permission_label(requirement)
        )
    }
}

/// The security of a row: none for public rows; a token (either header form) for the others,
/// or HTTP Basic for rows that act for a user; HTTP Basic alone for [`RouteSpec::password_only`] rows.
pub(super) fn security(spec: &RouteSpec) -> Vec<SecurityRequirement> {
    let requirement = &spec.requirement;
    let mut schemes = Vec::new();
    if spec.password_only {
        schemes.push("BasicAuth");
    } else if *requirement != Requirement::Public {
        schemes.extend(["TokenAuth", "BearerAuth"]);
    }
    if *requirement == Requirement::User && !spec.password_only {
        schemes.push("BasicAuth");
    }
    schemes
        .into_iter()
        .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
        .collect()
}
