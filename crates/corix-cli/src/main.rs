//! `corix`: run the control plane, manage users and keys, build the desktop image, benchmark.

mod accounts;
mod bench;
mod image;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "corix", version, about = "Linux desktops for AI agents, behind one HTTP API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Debug)]
pub struct DataDir {
    /// Where the store and the logs live.
    #[arg(long, env = "CORIX_DATA_DIR", default_value_os_t = default_data_dir())]
    pub data_dir: PathBuf,
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("corix")
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve(serve::ServeArgs),
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: accounts::UsersCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: accounts::KeysCommand,
    },
    /// Measure a running server against the usual methods.
    Bench(bench::BenchArgs),
    /// Build the desktop image.
    Image {
        #[command(subcommand)]
        command: image::ImageCommand,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Users { command } => accounts::users(command),
        Command::Keys { command } => accounts::keys(command),
        Command::Image { command } => runtime.block_on(image::run(command)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
    }
}
