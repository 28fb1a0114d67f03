//! How a row of the route table is written: `get(path, requirement, handler)` (or `post`,
//! `put`, `patch`, `delete`), then what the handler reads (`.body::<T>()`, `.query::<T>()`, …),
//! then exactly one answer (`.ok::<T>()`, `.created::<T>()`, `.page::<T>()`, `.html()`, …): a
//! row without its answer does not compile.

use crate::routes::spec::{
    form, list, one, query, Answer, BodyMaker, Lane, QueryMaker, Requirement, RouteSpec, Success,
};
use crate::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use utoipa::{IntoParams, ToSchema};

/// A row and its handler.
pub struct Row {
    /// What the row declares.
    pub spec: RouteSpec,
    /// The handler, for the row's method.
    pub handler: MethodRouter<AppState>,
}

impl Row {
    /// Whether the API's OpenAPI document describes the row: every row but the web console's
    /// pages and assets.
    pub fn in_document(&self) -> bool {
        self.spec.answer.success != Success::Html
    }

    /// The express lane answers the row too, as `lane` says ([`crate::express`]).
    pub fn in_lane(mut self, lane: Lane) -> Row {
        self.spec.lane = Some(lane);
        self
    }
}

/// A row still to say what it answers: [`table`] holds only [`Row`]s, so a row without its
/// answer does not compile.
pub struct Unanswered {
    method: Method,
    path: &'static str,
    requirement: Requirement,
    body: Option<BodyMaker>,
    query: Option<QueryMaker>,
    password_only: bool,
    handler: MethodRouter<AppState>,
}

macro_rules! method_fns {
    ($($(#[$doc:meta])* $name:ident $method:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name<H, T>(path: &'static str, requirement: Requirement, handler: H) -> Unanswered
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            Unanswered {
                method: Method::$method,
                path,
                requirement,
                body: None,
                query: None,
                password_only: false,
                handler: routing::$name(handler),
            }
        }
    )*};
}

method_fns! {
    /// A `GET` row.
    get GET;
    /// A `POST` row.
    post POST;
    /// A `PUT` row.
    put PUT;
    /// A `PATCH` row.
    patch PATCH;
    /// A `DELETE` row.
    delete DELETE;
}

impl Unanswered {
    /// The handler reads one `T` as JSON.
    pub fn body<T: ToSchema>(mut self) -> Unanswered {
        self.body = Some(one::<T>);
        self
    }
    /// The handler reads a JSON array of `T`.
    pub fn body_list<T: ToSchema>(mut self) -> Unanswered {
        self.body = Some(list::<T>);
        self
    }
    /// The handler reads one `T` as a form.
    pub fn form<T: ToSchema>(mut self) -> Unanswered {
        self.body = Some(form::<T>);
        self
    }
    /// The handler reads a body the document describes with `schema`.
    pub fn body_with(mut self, schema: BodyMaker) -> Unanswered {
        self.body = Some(schema);
        self
    }
    /// The handler reads the query string as a `T`.
    pub fn query<T: IntoParams>(mut self) -> Unanswered {
        self.query = Some(query::<T>);
        self
    }
    /// The row takes only the user's password (see [`RouteSpec::password_only`]).
    pub fn password_only(mut self) -> Unanswered {
        self.password_only = true;
        self
    }
    fn answers(self, success: Success, data: Option<BodyMaker>) -> Row {
        Row {
            spec: RouteSpec {
                method: self.method,
                path: self.path,
                requirement: self.requirement,
                body: self.body,
                query: self.query,
                answer: Answer { success, data },
                password_only: self.password_only,
                lane: None,
            },
            handler: self.handler,
        }
    }
    /// 200, a `T` in the envelope.
    pub fn ok<T: ToSchema>(self) -> Row {
        self.answers(Success::Envelope(200), Some(one::<T>))
    }
    /// 201, the `T` made, in the envelope.
    pub fn created<T: ToSchema>(self) -> Row {
        self.answers(Success::Envelope(201), Some(one::<T>))
    }
    /// 202, a `T` in the envelope.
    pub fn accepted<T: ToSchema>(self) -> Row {
        self.answers(Success::Envelope(202), Some(one::<T>))
    }
    /// 200, a page of `T`s in the envelope.
    pub fn page<T: ToSchema>(self) -> Row {
        self.answers(Success::Page, Some(one::<T>))
    }
    /// 200, a page of `T`s in the envelope, or the selection as CSV.
    pub fn page_or_csv<T: ToSchema>(self) -> Row {
        self.answers(Success::PageOrCsv, Some(one::<T>))
    }
    /// 200, a `T` as plain JSON.
    pub fn json<T: ToSchema>(self) -> Row {
        self.answers(Success::Json, Some(one::<T>))
    }
    /// 200, a JSON document of its own (the OpenAPI document).
    pub fn json_document(self) -> Row {
        self.answers(Success::Json, None)
    }
    /// 200 and headers, no body (forward auth).
    pub fn headers(self) -> Row {
        self.answers(Success::Headers, None)
    }
    /// 200, Prometheus's text format.
    pub fn metrics(self) -> Row {
        self.answers(Success::Metrics, None)
    }
    /// A page of the web console (or an asset of it), not in the API's document.
    pub fn html(self) -> Row {
        self.answers(Success::Html, None)
    }
}
