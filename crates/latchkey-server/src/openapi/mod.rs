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
//! Request bodies and query strings are the handlers' own types: [`BODIES`] names, per row, the
//! type its handler reads (it derives `ToSchema`; its schema and those it refers to go into
//! `components.schemas`), and [`QUERIES`] the query type (it derives `IntoParams`). The tests
//! hold every row that reads a body to an entry there.
//!
//! Answers are described the same way: [`RESPONSES`] names, per row, the type its handler sends
//! (in the envelope's `data`, as the items of a page, or as the whole plain-JSON body); those are
//! the wire types of [`crate::wire`] and the handlers' own answer types, which derive both
//!
//! The parts of the document, each in its own module: `envelope_schemas` (the envelope every
//! answer wears), `schemas` (schemas from the handlers' types), `requests` and `responses`
//! (what each row takes and answers with), `success` and `errors` (its answers),
//! `security` (who may call it), `paths` (names from its method and path), `forward_auth`,
//! `operation` (one row's operation), `document` (the whole) and `serve` (the handler).

mod document;
mod envelope_schemas;
mod errors;
mod forward_auth;
mod operation;
mod paths;
mod requests;
mod responses;
mod schemas;
mod security;
mod serve;
mod success;

pub use document::{document, document_for, document_json, document_json_for, DocumentError};
pub use envelope_schemas::{
    Envelope, ErrorEnvelope, Filters, PageEnvelope, PageExtra, Pagination, Status,
};
pub use paths::{openapi_path, operation_id, tag};
pub use requests::{QueryRow, BODIES, QUERIES};
pub use responses::RESPONSES;
pub use schemas::{BodyRow, BodySchema};
pub use serve::openapi_json;
