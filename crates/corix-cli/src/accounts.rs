//! `corix users ...` and `corix keys ...`, straight on the store (safe while the server runs).

use crate::DataDir;
use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use corix_server::auth;
use corix_server::plans::Plan;
use corix_server::store::{Store, User};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user with its Default workspace; prints the new API key as the last line.
    Create {
        #[arg(long)]
        email: String,
        /// starter, pro or scale.
        #[arg(long, default_value = "starter")]
        plan: String,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Add an API key to a user; prints it as the last line (it is shown only once).
    Create {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// List a user's keys by id and prefix.
    List {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Revoke a key, named by its id or its prefix.
    Revoke {
        #[arg(long)]
        email: String,
        /// The key's id or prefix (as `keys list` shows).
        #[arg(long)]
        key: String,
        #[command(flatten)]
        data: DataDir,
    },
}

pub fn open_store(data: &DataDir) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&data.data_dir)
        .with_context(|| format!("creating data dir {}", data.data_dir.display()))?;
    Ok(Store::open(&data.data_dir.join("corix.db"))?)
}

fn find_user(store: &Store, email: &str) -> anyhow::Result<User> {
    store.user_by_email(email)?.ok_or_else(|| anyhow!("no user with email {email}"))
}

pub fn users(command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create { email, plan, data } => {
            let plan = Plan::parse(&plan).ok_or_else(|| anyhow!("plan must be starter, pro or scale, not {plan}"))?;
            if email.trim().is_empty() {
                bail!("email must not be empty");
            }
            let store = open_store(&data)?;
            let user = store.create_user(email.trim(), plan)?;
            let key = auth::add_key(&store, &user, None)?;
            println!("created user {} ({}) on the {} plan", user.email, user.id, plan.as_str());
            println!("{}", key.secret);
        }
    }
    Ok(())
}

pub fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create { email, data } => {
            let store = open_store(&data)?;
            let user = find_user(&store, &email)?;
            let key = auth::add_key(&store, &user, None)?;
            println!("created key {} ({}) for {}", key.row.id, key.row.prefix, user.email);
            println!("{}", key.secret);
        }
        KeysCommand::List { email, data } => {
            let store = open_store(&data)?;
            let user = find_user(&store, &email)?;
            for key in store.list_api_keys(&user.id)? {
                println!("{}\t{}...\t{}", key.id, key.prefix, key.created_at);
            }
        }
        KeysCommand::Revoke { email, key, data } => {
            let store = open_store(&data)?;
            let user = find_user(&store, &email)?;
            if !store.revoke_api_key(&user.id, &key)? {
                bail!("{} has no key {key}", user.email);
            }
            println!("revoked key {key}");
        }
    }
    Ok(())
}
