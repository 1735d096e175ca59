//! Workspaces: named groups of a user's computers. Every user has one `Default` workspace.

use super::{now, unique_violation, Store, StoreResult};
use corix_proto::api::Workspace;
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    pub workspace: Workspace,
    pub is_default: bool,
}

const COLUMNS: &str = "id, user_id, name, status, icon_url, created_at, updated_at, is_default";

fn from_row(row: &Row) -> rusqlite::Result<WorkspaceRow> {
    Ok(WorkspaceRow {
        workspace: Workspace {
            id: row.get(0)?,
            user_id: row.get(1)?,
            name: row.get(2)?,
            status: row.get(3)?,
            icon_url: row.get(4)?,
            created_at: row.get(5)?,
            updated_at: row.get(6)?,
        },
        is_default: row.get(7)?,
    })
}

pub(super) fn insert_workspace(
    conn: &Connection,
    user_id: &str,
    name: &str,
    is_default: bool,
) -> Result<Workspace, super::StoreError> {
    let created = now();
    let workspace = Workspace {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_string(),
        name: name.to_string(),
        status: "active".to_string(),
        icon_url: None,
        created_at: created.clone(),
        updated_at: created,
    };
    conn.execute(
        "INSERT INTO workspaces (id, user_id, name, status, icon_url, is_default, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7)",
        params![
            workspace.id,
            workspace.user_id,
            workspace.name,
            workspace.status,
            is_default,
            workspace.created_at,
            workspace.updated_at
        ],
    )
    .map_err(|e| unique_violation(e, &format!("a workspace named \"{name}\" already exists")))?;
    Ok(workspace)
}

impl Store {
    pub fn create_workspace(&self, user_id: &str, name: &str) -> StoreResult<Workspace> {
        insert_workspace(&self.conn.lock(), user_id, name, false)
    }

    pub fn workspace(&self, id: &str) -> StoreResult<Option<WorkspaceRow>> {
        self.with(|c| c.query_row(&format!("SELECT {COLUMNS} FROM workspaces WHERE id = ?1"), [id], from_row).optional())
    }

    pub fn default_workspace(&self, user_id: &str) -> StoreResult<Option<WorkspaceRow>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM workspaces WHERE user_id = ?1 AND is_default = 1"),
                [user_id],
                from_row,
            )
            .optional()
        })
    }

    pub fn list_workspaces(&self, user_id: &str) -> StoreResult<Vec<WorkspaceRow>> {
        self.with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM workspaces WHERE user_id = ?1 ORDER BY created_at, name"))?;
            let rows = stmt.query_map([user_id], from_row)?;
            rows.collect()
        })
    }

    pub fn delete_workspace(&self, id: &str) -> StoreResult<()> {
        self.with(|c| c.execute("DELETE FROM workspaces WHERE id = ?1", params![id]).map(drop))
    }
}
