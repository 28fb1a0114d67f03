//! What a row of the route table declares: its method and path, what it requires of its caller,
//! the body and the query string its handler reads, and the answer it sends on success, each as
//! a maker of the OpenAPI schema of the handler's own type. The guard enforces the requirement;
//! the document is written from the rest.

use axum::http::Method;
use latchkey_core::Permission;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

/// The schema of a body (read or sent), from the handler's type.
pub struct BodySchema {
    /// The type's name in `components.schemas`.
    pub name: String,
    /// The type's schema and those it refers to, by name.
    pub schemas: Vec<(String, RefOr<Schema>)>,
    /// True when the body is a JSON array of the type, not one of it.
    pub list: bool,
    /// `application/json`, or a form.
    pub content_type: &'static str,
}

/// Makes the schema of a body.
pub type BodyMaker = fn() -> BodySchema;

/// Makes the parameters of a query string.
pub type QueryMaker = fn() -> Vec<Parameter>;

/// The body is one `T`, a JSON object.
pub fn one<T: ToSchema>() -> BodySchema {
    let name = T::name().into_owned();
    let mut schemas = vec![(name.clone(), T::schema())];
    T::schemas(&mut schemas);
    BodySchema {
        name,
        schemas,
        list: false,
        content_type: "application/json",
    }
}

/// The body is one `T`, as `application/x-www-form-urlencoded`.
pub fn form<T: ToSchema>() -> BodySchema {
    BodySchema {
        content_type: "application/x-www-form-urlencoded",
        ..one::<T>()
    }
}

/// The body is a JSON array of `T`.
pub fn list<T: ToSchema>() -> BodySchema {
    BodySchema {
        list: true,
        ..one::<T>()
    }
}

/// The query parameters of `T`, a handler's query type.
pub fn query<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// How a successful call answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Success {
    /// dbt Cloud's success envelope, with this status.
    Envelope(u16),
    /// A page of a list in the success envelope (200).
    Page,
    /// A page of a list, or with `?format=csv` the whole selection as CSV (200).
    PageOrCsv,
    /// Plain JSON, not enveloped (200).
    Json,
    /// No body: the answer is the status (200) and the `X-Latchkey-*` headers.
    Headers,
    /// Prometheus's text exposition format (200).
    Metrics,
    /// A page of the web console, or one of its assets: not part of the API's document.
    Html,
}

impl Success {
    /// The HTTP status of the answer.
    pub fn status(self) -> u16 {
        match self {
            Success::Envelope(status) => status,
            _ => 200,
        }
    }
}

/// A row's answer on success: its kind and the handler's type in it (for an envelope the type of
/// `data`, for a page the type of its items, for plain JSON the whole body; none for headers,
/// metrics and the OpenAPI document itself).
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// How it answers.
    pub success: Success,
    /// What it answers with.
    pub data: Option<BodyMaker>,
}

/// What a route requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone (health checks).
    Public,
    /// Any working token.
    Authenticated,
    /// A working token holding this permission on the account in the path.
    Permission(Permission),
    /// A working token holding this permission on the project named by `{project_id}` in the
    /// path (and the account in the path being its own).
    OnProject(Permission),
    /// A user acting for themselves in the account in the path: their personal access token, or
    /// their e-mail and password (HTTP Basic). What they may do is the handler's ownership rule
    /// (their own tokens only), never a permission beyond their own.
    User,
    /// A person signed in to the web console (a session cookie), in the account in the path
    /// when it has one. Refused by sending them to the sign-in page.
    Session,
    /// A person signed in to the web console whose permissions in the account in the path
    /// (license and groups, as for a personal access token) include this one.
    SessionWith(Permission),
    /// A person signed in to the web console whose permissions include this one on the
    /// project named by `{project_id}` in the path.
    SessionOnProject(Permission),
}

impl Requirement {
    /// The permission the row asks the decision function about, if any.
    pub fn permission(self) -> Option<Permission> {
        match self {
            Requirement::Permission(p)
            | Requirement::OnProject(p)
            | Requirement::SessionWith(p)
            | Requirement::SessionOnProject(p) => Some(p),
            Requirement::Public
            | Requirement::Authenticated
            | Requirement::User
            | Requirement::Session => None,
        }
    }

    /// The permission is asked on the project named by `{project_id}` in the path.
    pub fn on_project(self) -> bool {
        matches!(
            self,
            Requirement::OnProject(_) | Requirement::SessionOnProject(_)
        )
    }

    /// A row of the web console (its refusals are pages and redirects, not the API's envelope).
    pub fn is_console(self) -> bool {
        matches!(
            self,
            Requirement::Session | Requirement::SessionWith(_) | Requirement::SessionOnProject(_)
        )
    }
}

/// How the express lane ([`crate::express`]) answers a row it takes off the connection; a row
/// without one is the router's alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// `POST /api/v1/authorize`.
    Authorize,
    /// Forward auth (`/auth/forward`, nginx and Traefik headers).
    Forward,
    /// A probe answering `{"status": "ok"}`.
    Probe,
}

/// One row of the table, as the guard and the document read it.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path pattern; `{account_id}` scopes the route to the caller's account.
    pub path: &'static str,
    /// What the caller needs.
    pub requirement: Requirement,
    /// The body the handler reads, if any.
    pub body: Option<BodyMaker>,
    /// The query string the handler reads, if any.
    pub query: Option<QueryMaker>,
    /// What it answers on success.
    pub answer: Answer,
    /// A [`Requirement::User`] row that takes only the user's e-mail and password, never a
    /// token (its handler answers a token with 400): minting a personal access token, so that
    /// a leaked one cannot make itself a twin.
    pub password_only: bool,
    /// Answered in the express lane too, and how.
    pub lane: Option<Lane>,
}
