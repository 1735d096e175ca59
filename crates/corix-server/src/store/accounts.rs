//! Users, their API keys (stored only as hashes) and their daily call counts.

use super::{now, unique_violation, Store, StoreError, StoreResult};
use crate::plans::Plan;
use rusqlite::{params, OptionalExtension, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub plan: Plan,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    pub user_id: String,
    /// The first characters of the key, enough to tell keys apart, never enough to use one.
    pub prefix: String,
    pub created_at: String,
}

const USER_COLUMNS: &str = "u.id, u.email, u.plan, u.created_at";

fn user_from_row(row: &Row, offset: usize) -> rusqlite::Result<User> {
    let plan: String = row.get(offset + 2)?;
    Ok(User {
        id: row.get(offset)?,
        email: row.get(offset + 1)?,
        plan: Plan::parse(&plan).unwrap_or(Plan::Starter),
        created_at: row.get(offset + 3)?,
    })
}

fn key_from_row(row: &Row) -> rusqlite::Result<ApiKeyRow> {
    Ok(ApiKeyRow { id: row.get(0)?, user_id: row.get(1)?, prefix: row.get(2)?, created_at: row.get(3)? })
}

impl Store {
    /// Creates a user together with its `Default` workspace.
    pub fn create_user(&self, email: &str, plan: Plan) -> StoreResult<User> {
        let user = User { id: uuid::Uuid::new_v4().to_string(), email: email.to_string(), plan, created_at: now() };
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO users (id, email, plan, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![user.id, user.email, plan.as_str(), user.created_at],
        )
        .map_err(|e| unique_violation(e, &format!("a user with email {email} already exists")))?;
        super::workspaces::insert_workspace(&tx, &user.id, "Default", true)?;
        tx.commit()?;
        Ok(user)
    }

    pub fn user_count(&self) -> StoreResult<u64> {
        self.with(|c| c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0)))
    }

    pub fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.with(|c| {
            c.query_row(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?1"), [email], |r| {
                user_from_row(r, 0)
            })
            .optional()
        })
    }

    pub fn insert_api_key(&self, user_id: &str, prefix: &str, hash: &[u8]) -> StoreResult<ApiKeyRow> {
        let key = ApiKeyRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_string(),
            prefix: prefix.to_string(),
            created_at: now(),
        };
        self.with(|c| {
            c.execute(
                "INSERT INTO api_keys (id, user_id, prefix, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.id, key.user_id, key.prefix, hash, key.created_at],
            )
        })?;
        Ok(key)
    }

    /// The key whose hash is `hash`, its stored hash (for a constant-time comparison), and its user.
    pub fn key_by_hash(&self, hash: &[u8]) -> StoreResult<Option<(ApiKeyRow, Vec<u8>, User)>> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT k.id, k.user_id, k.prefix, k.created_at, k.hash, {USER_COLUMNS}
                     FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ?1"
                ),
                [hash],
                |r| Ok((key_from_row(r)?, r.get(4)?, user_from_row(r, 5)?)),
            )
            .optional()
        })
    }

    pub fn list_api_keys(&self, user_id: &str) -> StoreResult<Vec<ApiKeyRow>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, user_id, prefix, created_at FROM api_keys WHERE user_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([user_id], key_from_row)?;
            rows.collect()
        })
    }

    /// Removes the user's key named by its id or its prefix. `false` when there is none.
    pub fn revoke_api_key(&self, user_id: &str, id_or_prefix: &str) -> StoreResult<bool> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        let matches: u64 = tx.query_row(
            "SELECT COUNT(*) FROM api_keys WHERE user_id = ?1 AND (id = ?2 OR prefix = ?2)",
            params![user_id, id_or_prefix],
            |r| r.get(0),
        )?;
        if matches > 1 {
            return Err(StoreError::Conflict(format!("{id_or_prefix} names more than one key; give its id")));
        }
        tx.execute("DELETE FROM api_keys WHERE user_id = ?1 AND (id = ?2 OR prefix = ?2)", params![user_id, id_or_prefix])?;
        tx.commit()?;
        Ok(matches == 1)
    }

    /// Counts one call of the key on `day` (YYYY-MM-DD) and returns the day's count so far.
    pub fn count_call(&self, key_id: &str, day: &str) -> StoreResult<u64> {
        self.with(|c| {
            c.query_row(
                "INSERT INTO api_usage (key_id, day, calls) VALUES (?1, ?2, 1)
                 ON CONFLICT(key_id, day) DO UPDATE SET calls = calls + 1 RETURNING calls",
                [key_id, day],
                |r| r.get(0),
            )
        })
    }
}
