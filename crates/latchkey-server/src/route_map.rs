//! The forward-auth route map: which permission a proxied request needs, and where its account
//! and project come from. A deployment may load its own map (JSON); the built-in one covers dbt
//! Cloud's Admin API v2/v3 jobs, runs, environments and projects, the Discovery API and the
//! Semantic Layer. A request that matches no rule is denied.
//!
//! Map file:
//! ```json
//! {"include_builtin": false,
//!  "routes": [{"methods": ["GET"], "path": "/api/v3/accounts/{account_id}/projects/{project_id}/*",
//!              "permission": "projects:read", "project": "path:project_id"}]}
//! ```
//! `{name}` matches one path segment, a final `*` any rest; trailing slashes are ignored.
//! `project` is `path:NAME`, `query:NAME` or absent (then only all-projects grants count).
//! `{account_id}` in a path must be the token's own account.
//!
//! The map matches a request [`latchkey_core::forward_uri::normalise`] has already read as the
//! upstream will (escapes of unreserved characters decoded, ambiguous paths and queries
//! refused), and resolves it without allocating.

use latchkey_core::forward_uri::OriginalRequest;
use latchkey_core::{Permission, ProjectId};
use serde::Deserialize;

/// Where a rule finds the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectSource {
    /// Nowhere: the check is made without a project.
    None,
    /// A `{name}` segment of the path.
    Path(String),
    /// A query parameter.
    Query(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One rule of the map.
#[derive(Clone, Debug)]
pub struct RouteRule {
    methods: Vec<String>,
    segments: Vec<Segment>,
    rest: bool,
    permission: Permission,
    project: ProjectSource,
    /// The index of the `{account_id}` segment, if any.
    account_at: Option<usize>,
    /// The index of the segment the project comes from, for `ProjectSource::Path`.
    project_at: Option<usize>,
}

/// What a matched request must be allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needed {
    /// The permission.
    pub permission: Permission,
    /// The project named by the request (`Err` when it named one that is not a number).
    pub project: Result<Option<ProjectId>, ()>,
    /// The account named in the path, if the rule has `{account_id}` (`Err`: not a number).
    pub account: Result<Option<i64>, ()>,
}

/// The map: rules in order, the first match wins.
#[derive(Clone, Debug, Default)]
pub struct RouteMap {
    rules: Vec<RouteRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    include_builtin: bool,
    routes: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    methods: Vec<String>,
    path: String,
    permission: String,
    #[serde(default)]
    project: Option<String>,
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// The most segments a rule may have; a request's first this many are kept on the stack.
const MAX_SEGMENTS: usize = 32;

/// A request path's segments, split once: the first [`MAX_SEGMENTS`] and how many there are.
struct Segments<'p> {
    first: [&'p str; MAX_SEGMENTS],
    len: usize,
}

impl<'p> Segments<'p> {
    fn of(path: &'p str) -> Segments<'p> {
        let mut first = [""; MAX_SEGMENTS];
        let mut len = 0;
        for (slot, segment) in split(path).enumerate() {
            if let Some(s) = first.get_mut(slot) {
                *s = segment;
            }
            len = slot + 1;
        }
        Segments { first, len }
    }

    /// The segment at `i`, if the path has it and it is among the first kept.
    fn get(&self, i: usize) -> Option<&'p str> {
        (i < self.len).then(|| self.first.get(i).copied()).flatten()
    }
}

impl RouteRule {
    /// A rule; `methods` empty means any method.
    pub fn new(
        methods: &[&str],
        path: &str,
        permission: &str,
        project: ProjectSource,
    ) -> Result<RouteRule, String> {
        if !path.starts_with('/') {
            return Err(format!("route path `{path}` must start with /"));
        }
        let permission: Permission = permission
            .parse()
            .map_err(|e: latchkey_core::Error| format!("route {path}: {e}"))?;
        let mut segments = Vec::new();
        let mut rest = false;
        let parts: Vec<&str> = split(path).collect();
        for (i, s) in parts.iter().enumerate() {
            if *s == "*" {
                if i + 1 != parts.len() {
                    return Err(format!("route {path}: * may only end a path"));
                }
                rest = true;
            } else if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("route {path}: bad parameter `{s}`"));
                }
                segments.push(Segment::Param(name.to_owned()));
            } else {
                segments.push(Segment::Literal((*s).to_owned()));
            }
        }
        if segments.len() > MAX_SEGMENTS {
            return Err(format!("route {path}: more than {MAX_SEGMENTS} segments"));
        }
        let param_at = |name: &str| {
            segments
                .iter()
                .position(|s| matches!(s, Segment::Param(p) if p == name))
        };
        let project_at = match &project {
            ProjectSource::Path(name) => Some(param_at(name).ok_or_else(|| {
                format!("route {path}: project comes from {{{name}}}, which the path lacks")
            })?),
            _ => None,
        };
        let account_at = param_at("account_id");
        Ok(RouteRule {
            methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            segments,
            rest,
            permission,
            project,
            account_at,
            project_at,
        })
    }

    /// Whether the rule matches `method` (upper case) on a path of these segments.
    fn matches(&self, method: &str, path: &Segments<'_>) -> bool {
        let fits = if self.rest {
            path.len >= self.segments.len()
        } else {
            path.len == self.segments.len()
        };
        fits && (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
            && self
                .segments
                .iter()
                .zip(path.first.iter())
                .all(|(segment, got)| match segment {
                    Segment::Literal(literal) => literal == got,
                    Segment::Param(_) => true,
                })
    }
}

/// A positive number, `Ok(None)` when absent, `Err` when present but not one.
fn number(value: Option<&str>) -> Result<Option<i64>, ()> {
    value
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(()),
        })
        .transpose()
}

impl RouteMap {
    /// A map of these rules, in order.
    pub fn new(rules: Vec<RouteRule>) -> RouteMap {
        RouteMap { rules }
    }

    /// Reads a map file (see the module docs).
    pub fn from_json(text: &str) -> Result<RouteMap, String> {
        let file: MapFile = serde_json::from_str(text).map_err(|e| format!("route map: {e}"))?;
        let mut rules = Vec::with_capacity(file.routes.len());
        for r in &file.routes {
            let project = match r.project.as_deref() {
                None => ProjectSource::None,
                Some(p) => match p.split_once(':') {
                    Some(("path", name)) => ProjectSource::Path(name.to_owned()),
                    Some(("query", name)) => ProjectSource::Query(name.to_owned()),
                    _ => {
                        return Err(format!(
                            "route {}: project must be path:NAME or query:NAME",
                            r.path
                        ))
                    }
                },
            };
            let methods: Vec<&str> = r.methods.iter().map(String::as_str).collect();
            rules.push(RouteRule::new(&methods, &r.path, &r.permission, project)?);
        }
        if file.include_builtin {
            rules.extend(RouteMap::builtin().rules);
        }
        Ok(RouteMap { rules })
    }

    /// The built-in map for dbt Cloud's APIs. Its rows are constants, built and checked by the
    /// tests (every row parses, and each is exercised through forward auth), so no request can
    /// reach the `expect`.
    #[allow(
        clippy::expect_used,
        reason = "the built-in rows are constants checked by the tests"
    )]
    pub fn builtin() -> RouteMap {
        use ProjectSource::{None as NoProject, Path, Query};
        let q = || Query("project_id".into());
        let p = || Path("project_id".into());
        let a = "/api/v2/accounts/{account_id}";
        let v3 = "/api/v3/accounts/{account_id}";
        let rows: Vec<(&[&str], String, &str, ProjectSource)> = vec![
            // Jobs (v2): listing may name a project; one job's project is not in its path.
            (&["GET"], format!("{a}/jobs"), "jobs:read", q()),
            (&["POST"], format!("{a}/jobs"), "jobs:write", NoProject),
            (
                &["POST"],
                format!("{a}/jobs/{{job_id}}/run"),
                "runs:write",
                NoProject,
            ),
            (
                &["GET"],
                format!("{a}/jobs/{{job_id}}/*"),
                "jobs:read",
                NoProject,
            ),
            (
                &["POST", "PUT", "PATCH", "DELETE"],
                format!("{a}/jobs/{{job_id}}"),
                "jobs:write",
                NoProject,
            ),
            // Runs (v2).
            (&["GET"], format!("{a}/runs"), "runs:read", q()),
            (
                &["POST"],
                format!("{a}/runs/{{run_id}}/cancel"),
                "runs:write",
                NoProject,
            ),
            (
                &["POST"],
                format!("{a}/runs/{{run_id}}/retry"),
                "runs:write",
                NoProject,
            ),
            (
                &["GET"],
                format!("{a}/runs/{{run_id}}/*"),
                "runs:read",
                NoProject,
            ),
            // Environments (v2 list, v3 under a project).
            (
                &["GET"],
                format!("{a}/environments/*"),
                "environments:read",
                q(),
            ),
            (
                &["GET"],
                format!("{v3}/projects/{{project_id}}/environments/*"),
                "environments:read",
                p(),
            ),
            (
                &["POST", "PUT", "PATCH", "DELETE"],
                format!("{v3}/projects/{{project_id}}/environments/*"),
                "environments:write",
                p(),
            ),
            // Projects (v3).
            (
                &["GET"],
                format!("{v3}/projects"),
                "projects:read",
                NoProject,
            ),
            (
                &["POST"],
                format!("{v3}/projects"),
                "project_create:write",
                NoProject,
            ),
            (
                &["GET"],
                format!("{v3}/projects/{{project_id}}/*"),
                "projects:read",
                p(),
            ),
            (
                &["POST", "PUT", "PATCH", "DELETE"],
                format!("{v3}/projects/{{project_id}}"),
                "projects:write",
                p(),
            ),
            // Discovery API and Semantic Layer (GraphQL over POST; GET for introspection tools).
            (&["GET", "POST"], "/graphql".into(), "metadata:read", q()),
            (
                &["GET", "POST"],
                "/api/graphql".into(),
                "semantic_layer_config:read",
                q(),
            ),
        ];
        RouteMap {
            rules: rows
                .into_iter()
                .map(|(m, path, perm, project)| {
                    RouteRule::new(m, &path, perm, project)
                        .expect("built-in routes are valid (tested)")
                })
                .collect(),
        }
    }

    /// How many rules the map holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the map has no rules (every request is then denied).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What a request needs, or `None` when no rule matches (the first matching rule wins).
    pub fn resolve(&self, request: &OriginalRequest<'_>) -> Option<Needed> {
        let path = Segments::of(request.path());
        let rule = self
            .rules
            .iter()
            .find(|rule| rule.matches(request.method(), &path))?;
        let segment = |at: Option<usize>| at.and_then(|i| path.get(i));
        let project = match &rule.project {
            ProjectSource::None => Ok(None),
            ProjectSource::Path(_) => number(segment(rule.project_at)),
            ProjectSource::Query(name) => number(request.query_value(name).as_deref()),
        };
        Some(Needed {
            permission: rule.permission,
            project: project.map(|p| p.map(ProjectId)),
            account: number(segment(rule.account_at)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_core::forward_uri::{normalise, Refusal};

    fn perm(s: &str) -> Permission {
        s.parse().unwrap()
    }

    /// Resolves a request the normaliser accepts.
    fn resolve(m: &RouteMap, method: &str, uri: &str) -> Option<Needed> {
        m.resolve(&normalise(method, uri).unwrap())
    }

    #[test]
    fn the_builtin_map_resolves_dbt_cloud_paths() {
        let m = RouteMap::builtin();
        let r = resolve(&m, "POST", "/api/v2/accounts/7/jobs/42/run/").unwrap();
        assert_eq!(
            (r.permission, r.account, r.project),
            (perm("runs:write"), Ok(Some(7)), Ok(None))
        );
        let r = resolve(&m, "GET", "/api/v2/accounts/7/runs/?project_id=3&limit=5").unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("runs:read"), Ok(Some(ProjectId(3))))
        );
        let r = resolve(
            &m,
            "DELETE",
            "/api/v3/accounts/7/projects/3/environments/9/",
        )
        .unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("environments:write"), Ok(Some(ProjectId(3))))
        );
        let r = resolve(
            &m,
            "GET",
            "/api/v2/accounts/7/runs/5/artifacts/manifest.json",
        )
        .unwrap();
        assert_eq!(r.permission, perm("runs:read"));
        assert_eq!(
            resolve(&m, "POST", "/graphql").unwrap().permission,
            perm("metadata:read")
        );
        assert_eq!(
            resolve(&m, "POST", "/api/graphql").unwrap().permission,
            perm("semantic_layer_config:read")
        );
    }

    #[test]
    fn unmapped_odd_and_ambiguous_requests_resolve_to_nothing_or_errors() {
        let m = RouteMap::builtin();
        assert_eq!(resolve(&m, "GET", "/api/v2/accounts/7/billing/"), None);
        for traversal in [
            "/api/v2/accounts/7/runs/../../billing",
            "/api/v2/accounts/7/runs/%2e%2e/x",
        ] {
            assert_eq!(normalise("GET", traversal), Err(Refusal::DotSegment));
        }
        assert_eq!(resolve(&m, "TRACE", "/api/v2/accounts/7/runs/"), None);
        let r = resolve(&m, "GET", "/api/v2/accounts/x/runs/").unwrap();
        assert_eq!(r.account, Err(()));
        assert_eq!(
            normalise("GET", "/api/v2/accounts/7/runs/?project_id=1&project_id=2"),
            Err(Refusal::RepeatedParameter),
            "two projects named: refuse rather than pick one"
        );
        let r = resolve(&m, "GET", "/api/v2/accounts/7/runs/?project_id=-1").unwrap();
        assert_eq!(r.project, Err(()));
        let r = resolve(&m, "GET", "/api/v2/accounts/7/runs/?project_id=").unwrap();
        assert_eq!(r.project, Err(()));
    }

    #[test]
    fn the_map_matches_the_request_as_decoded() {
        let m = RouteMap::builtin();
        let r = resolve(&m, "GET", "/api/v3/accounts/%37/projects/%33/environments/").unwrap();
        assert_eq!(
            (r.permission, r.account, r.project),
            (
                perm("environments:read"),
                Ok(Some(7)),
                Ok(Some(ProjectId(3)))
            )
        );
        let r = resolve(&m, "GET", "/api/v2/accounts/7/%72uns?project%5Fid=%34").unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("runs:read"), Ok(Some(ProjectId(4))))
        );
        // A kept escape is part of the segment: a number it is not.
        let r = resolve(&m, "GET", "/api/v2/accounts/7%20/runs/").unwrap();
        assert_eq!(r.account, Err(()));
    }

    #[test]
    fn a_map_file_is_read_checked_and_may_extend_the_builtin_map() {
        let m = RouteMap::from_json(
            r#"{"include_builtin": true, "routes": [
                {"methods": ["get"], "path": "/reports/{project_id}/*", "permission": "metadata:read", "project": "path:project_id"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(m.len(), RouteMap::builtin().len() + 1);
        let r = resolve(&m, "GET", "/reports/12/a/b").unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("metadata:read"), Ok(Some(ProjectId(12))))
        );
        for bad in [
            r#"{"routes": [{"path": "/x", "permission": "nope:read"}]}"#,
            r#"{"routes": [{"path": "x", "permission": "jobs:read"}]}"#,
            r#"{"routes": [{"path": "/x/*/y", "permission": "jobs:read"}]}"#,
            r#"{"routes": [{"path": "/x", "permission": "jobs:read", "project": "path:project_id"}]}"#,
            r#"{"routes": [{"path": "/x", "permission": "jobs:read", "project": "body:id"}]}"#,
            r#"{"routes": [], "extra": 1}"#,
        ] {
            assert!(RouteMap::from_json(bad).is_err(), "{bad}");
        }
    }
}
