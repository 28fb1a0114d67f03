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
        if let ProjectSource::Path(name) = &project {
            if !segments.contains(&Segment::Param(name.clone())) {
                return Err(format!(
                    "route {path}: project comes from {{{name}}}, which the path lacks"
                ));
            }
        }
        Ok(RouteRule {
            methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
            segments,
            rest,
            permission,
            project,
        })
    }

    fn matches<'a>(&self, method: &str, path: &[&'a str]) -> Option<Vec<(&str, &'a str)>> {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
        {
            return None;
        }
        let fits = if self.rest {
            path.len() >= self.segments.len()
        } else {
            path.len() == self.segments.len()
        };
        if !fits {
            return None;
        }
        let mut params = Vec::new();
        for (seg, got) in self.segments.iter().zip(path) {
            match seg {
                Segment::Literal(l) if l == got => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => params.push((name.as_str(), *got)),
            }
        }
        Some(params)
    }
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

    /// The built-in map for dbt Cloud's APIs.
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

    /// What a request needs, or `None` when no rule matches. `uri` is the original request's
    /// path with its query string.
    pub fn resolve(&self, method: &str, uri: &str) -> Option<Needed> {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let path = path.split('#').next().unwrap_or_default();
        let parts: Vec<&str> = split(path).collect();
        // Refuse dot segments outright rather than guess how the upstream resolves them.
        if parts
            .iter()
            .any(|s| *s == "." || *s == ".." || s.contains('%'))
        {
            return None;
        }
        self.rules.iter().find_map(|rule| {
            let params = rule.matches(method, &parts)?;
            let param = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let number = |v: Option<&str>| -> Result<Option<i64>, ()> {
                v.map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| ())
                        .and_then(|n| if n > 0 { Ok(n) } else { Err(()) })
                })
                .transpose()
            };
            let project = match &rule.project {
                ProjectSource::None => Ok(None),
                ProjectSource::Path(name) => number(param(name)),
                ProjectSource::Query(name) => {
                    let values: Vec<&str> = query
                        .split('&')
                        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
                        .filter(|(k, _)| k == name)
                        .map(|(_, v)| v)
                        .collect();
                    match values.as_slice() {
                        [] => Ok(None),
                        [one] => number(Some(one)),
                        _ => Err(()),
                    }
                }
            };
            Some(Needed {
                permission: rule.permission,
                project: project.map(|p| p.map(ProjectId)),
                account: number(param("account_id")),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(s: &str) -> Permission {
        s.parse().unwrap()
    }

    #[test]
    fn the_builtin_map_resolves_dbt_cloud_paths() {
        let m = RouteMap::builtin();
        let r = m
            .resolve("POST", "/api/v2/accounts/7/jobs/42/run/")
            .unwrap();
        assert_eq!(
            (r.permission, r.account, r.project),
            (perm("runs:write"), Ok(Some(7)), Ok(None))
        );
        let r = m
            .resolve("GET", "/api/v2/accounts/7/runs/?project_id=3&limit=5")
            .unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("runs:read"), Ok(Some(ProjectId(3))))
        );
        let r = m
            .resolve("DELETE", "/api/v3/accounts/7/projects/3/environments/9/")
            .unwrap();
        assert_eq!(
            (r.permission, r.project),
            (perm("environments:write"), Ok(Some(ProjectId(3))))
        );
        let r = m
            .resolve("GET", "/api/v2/accounts/7/runs/5/artifacts/manifest.json")
            .unwrap();
        assert_eq!(r.permission, perm("runs:read"));
        assert_eq!(
            m.resolve("POST", "/graphql").unwrap().permission,
            perm("metadata:read")
        );
        assert_eq!(
            m.resolve("POST", "/api/graphql").unwrap().permission,
            perm("semantic_layer_config:read")
        );
    }

    #[test]
    fn unmapped_odd_and_ambiguous_requests_resolve_to_nothing_or_errors() {
        let m = RouteMap::builtin();
        assert_eq!(m.resolve("GET", "/api/v2/accounts/7/billing/"), None);
        assert_eq!(
            m.resolve("GET", "/api/v2/accounts/7/runs/../../billing"),
            None
        );
        assert_eq!(m.resolve("GET", "/api/v2/accounts/7/runs/%2e%2e/x"), None);
        assert_eq!(m.resolve("TRACE", "/api/v2/accounts/7/runs/"), None);
        let r = m.resolve("GET", "/api/v2/accounts/x/runs/").unwrap();
        assert_eq!(r.account, Err(()));
        let r = m
            .resolve("GET", "/api/v2/accounts/7/runs/?project_id=1&project_id=2")
            .unwrap();
        assert_eq!(
            r.project,
            Err(()),
            "two projects named: refuse rather than pick one"
        );
        let r = m
            .resolve("GET", "/api/v2/accounts/7/runs/?project_id=-1")
            .unwrap();
        assert_eq!(r.project, Err(()));
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
        let r = m.resolve("GET", "/reports/12/a/b").unwrap();
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
