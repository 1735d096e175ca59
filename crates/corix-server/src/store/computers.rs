//! Computers. A deleted computer keeps its row as `terminated`, so GET can still show it.

use super::{now, Store, StoreResult};
use corix_proto::api::{Computer, ComputerStatus};
use rusqlite::{params, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerRow {
    pub computer: Computer,
    /// The secret this computer's agent accepts; never shown to users.
    pub agent_token: String,
    pub last_activity_at: String,
}

const COLUMNS: &str = "id, workspace_id, user_id, name, os, cpu, ram, disk_size_gb, resolution, status, \
    container_id, hostname, auto_stop_minutes, created_at, updated_at, terminated_at, agent_token, last_activity_at";

const LIVE: &str = "status != 'terminated'";

fn from_row(row: &Row) -> rusqlite::Result<ComputerRow> {
    let status: String = row.get(9)?;
    Ok(ComputerRow {
        computer: Computer {
            id: row.get(0)?,
            workspace_id: row.get(1)?,
            user_id: row.get(2)?,
            name: row.get(3)?,
            os: row.get(4)?,
            cpu: row.get(5)?,
            ram: row.get(6)?,
            disk_size_gb: row.get(7)?,
            resolution: row.get(8)?,
            status: ComputerStatus::parse(&status).unwrap_or(ComputerStatus::Error),
            container_id: row.get(10)?,
            hostname: row.get(11)?,
            auto_stop_minutes: row.get(12)?,
            created_at: row.get(13)?,
            updated_at: row.get(14)?,
            terminated_at: row.get(15)?,
        },
        agent_token: row.get(16)?,
        last_activity_at: row.get(17)?,
    })
}

impl Store {
    pub fn insert_computer(&self, row: &ComputerRow) -> StoreResult<()> {
        let c = &row.computer;
        self.with(|conn| {
            conn.execute(
                &format!("INSERT INTO computers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
                params![
                    c.id, c.workspace_id, c.user_id, c.name, c.os, c.cpu, c.ram, c.disk_size_gb, c.resolution,
                    c.status.as_str(), c.container_id, c.hostname, c.auto_stop_minutes, c.created_at, c.updated_at,
                    c.terminated_at, row.agent_token, row.last_activity_at
                ],
            )
            .map(drop)
        })
    }

    pub fn computer(&self, id: &str) -> StoreResult<Option<ComputerRow>> {
        self.with(|c| c.query_row(&format!("SELECT {COLUMNS} FROM computers WHERE id = ?1"), [id], from_row).optional())
    }

    fn computers_where(&self, condition: &str, arg: Option<&str>) -> StoreResult<Vec<ComputerRow>> {
        self.with(|c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM computers WHERE {condition} ORDER BY created_at, id"))?;
            let rows = match arg {
                Some(arg) => stmt.query_map([arg], from_row)?.collect(),
                None => stmt.query_map([], from_row)?.collect(),
            };
            rows
        })
    }

    /// The user's computers that are not terminated.
    pub fn live_computers_of_user(&self, user_id: &str) -> StoreResult<Vec<ComputerRow>> {
        self.computers_where(&format!("user_id = ?1 AND {LIVE}"), Some(user_id))
    }

    pub fn live_computers_in_workspace(&self, workspace_id: &str) -> StoreResult<Vec<ComputerRow>> {
        self.computers_where(&format!("workspace_id = ?1 AND {LIVE}"), Some(workspace_id))
    }

    /// Every computer that is not terminated, for reconciliation and the auto-stop reaper.
    pub fn live_computers(&self) -> StoreResult<Vec<ComputerRow>> {
        self.computers_where(LIVE, None)
    }

    /// How many computers have each status (terminated included).
    pub fn count_computers_by_status(&self) -> StoreResult<Vec<(ComputerStatus, u64)>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT status, COUNT(*) FROM computers GROUP BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
            Ok(rows.filter_map(Result::ok).filter_map(|(s, n)| Some((ComputerStatus::parse(&s)?, n))).collect())
        })
    }

    pub fn set_status(&self, id: &str, status: ComputerStatus) -> StoreResult<()> {
        let now = now();
        let terminated_at = (status == ComputerStatus::Terminated).then(|| now.clone());
        self.with(|c| {
            c.execute(
                "UPDATE computers SET status = ?2, updated_at = ?3, terminated_at = COALESCE(?4, terminated_at) WHERE id = ?1",
                params![id, status.as_str(), now, terminated_at],
            )
            .map(drop)
        })
    }

    pub fn set_container(&self, id: &str, container_id: Option<&str>, hostname: Option<&str>) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE computers SET container_id = ?2, hostname = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, container_id, hostname, now()],
            )
            .map(drop)
        })
    }

    pub fn set_resources(&self, id: &str, cpu: u32, ram: u32) -> StoreResult<()> {
        self.with(|c| {
            c.execute("UPDATE computers SET cpu = ?2, ram = ?3, updated_at = ?4 WHERE id = ?1", params![id, cpu, ram, now()])
                .map(drop)
        })
    }

    pub fn set_workspace(&self, id: &str, workspace_id: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE computers SET workspace_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, workspace_id, now()],
            )
            .map(drop)
        })
    }

    pub fn set_auto_stop(&self, id: &str, minutes: Option<u32>) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE computers SET auto_stop_minutes = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, minutes, now()],
            )
            .map(drop)
        })
    }

    pub fn set_last_activity(&self, id: &str, at: &str) -> StoreResult<()> {
        self.with(|c| c.execute("UPDATE computers SET last_activity_at = ?2 WHERE id = ?1", params![id, at]).map(drop))
    }
}
