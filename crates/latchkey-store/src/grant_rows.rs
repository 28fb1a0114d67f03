//! A permission grant as every grant table keeps it (a service token's, a group's, an
//! invitation's): the project column, and a row read back into a [`StoredGrant`].

use crate::records::StoredGrant;
use crate::StoreError;
use latchkey_core::{EnvCategories, Grant, ProjectId, Scope};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

/// The project column of a grant: none for a grant on all projects.
pub(crate) fn project_of(g: &Grant) -> Option<i64> {
    match g.scope {
        Scope::AllProjects => None,
        Scope::Project(p) => Some(p.0),
    }
}

/// A grant row (its `id` and `created_at` where the query reads them).
pub(crate) fn grant_from_row(r: &AnyRow) -> Result<StoredGrant, StoreError> {
    let set: String = r.try_get("permission_set")?;
    let project: Option<i64> = r.try_get("project_id")?;
    let envs: i64 = r.try_get("writable_envs")?;
    let scope = project.map_or(Scope::AllProjects, |p| Scope::Project(ProjectId(p)));
    Ok(StoredGrant {
        id: r.try_get("id").unwrap_or_default(),
        grant: Grant::new(set.parse()?, scope)
            .with_writable_envs(EnvCategories::from_bits(envs as u8)),
        created_at: crate::db_time::time_at(r, "created_at").unwrap_or(OffsetDateTime::UNIX_EPOCH),
    })
}
