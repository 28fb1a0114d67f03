//! The OpenAPI 3.1 document, served at `GET /api/openapi.json` and committed as `openapi.json` at
//! the repository root.
//!
//! It is generated from the route table ([`crate::routes::table::table`]) and nothing else, so no
//! route can be missing from it: one operation per row, with the row's method and path (axum's
//! `{param}` syntax is OpenAPI's), its path parameters, a tag taken from the path, the row's
//! requirement (in the description, in `x-latchkey-permission`, and as `security`: none for public
//! rows, `Authorization: Token <token>` or `Bearer <token>` for the rest, and also HTTP Basic for
//! rows that act for a user), the success answer, and
//! dbt Cloud's error envelope for the failures the guard and the extractors produce.
//!
//! Request bodies, query strings and answers are the handlers' own types, named by the row
//! itself ([`crate::routes::table::RouteSpec`]: `body`, `query`, `answer`): a body or answer
//! type derives `ToSchema` (its schema and those it refers to go into `components.schemas`), a
//! query type `IntoParams`; the answer's kind and status (the envelope with 200, 201 or 202, a
//! page, a page or CSV, plain JSON, headers alone, Prometheus's text) are the row's too. The
//! answers are the wire types of [`latchkey_wire`] and the handlers' own answer types.
//!
//! The parts of the document, each in its own module: `envelope_schemas` (the envelope every
//! answer wears), `schemas` (references and cross-field rules), `requests` (the body a row
//! takes), `success` and `errors` (its answers),
//! `security` (who may call it), `paths` (names from its method and path), `forward_auth`,
//! `operation` (one row's operation), `document` (the whole) and `serve` (the handler).

mod document;
mod envelope_schemas;
mod errors;
mod forward_auth;
mod operation;
mod paths;
mod requests;
mod schemas;
mod security;
mod serve;
mod success;

pub use document::{document, document_for, document_json, document_json_for, DocumentError};
pub use envelope_schemas::{
    Envelope, ErrorEnvelope, Filters, PageEnvelope, PageExtra, Pagination, Status,
};
pub use paths::{openapi_path, operation_id, tag};
pub use serve::openapi_json;
