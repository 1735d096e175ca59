//! `corix image build`, and the check `corix serve` makes before it starts.

use clap::Subcommand;
use corix_server::runtime::image::{ensure_image, image_is_current, ImageBuild};
use corix_server::runtime::DockerRuntime;
use std::path::PathBuf;

pub fn default_image() -> String {
    format!("corix-desktop:{}", env!("CARGO_PKG_VERSION"))
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Build the desktop image (the Debian base is reused when its recipe is unchanged).
    Build {
        #[arg(long, env = "CORIX_IMAGE", default_value_t = default_image())]
        image: String,
        /// Rebuild the Corix layer even when it is current.
        #[arg(long)]
        force: bool,
        /// Rebuild the Debian base too.
        #[arg(long)]
        force_base: bool,
    },
}

/// The agent baked into the image: `CORIX_AGENT_BINARY`, else the `corix-agent` beside this program.
pub fn agent_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CORIX_AGENT_BINARY") {
        return Some(PathBuf::from(path));
    }
    let beside = std::env::current_exe().ok()?.parent()?.join("corix-agent");
    beside.exists().then_some(beside)
}

fn print_progress(line: &str) {
    eprintln!("[image] {line}");
}

pub async fn run(command: ImageCommand) -> anyhow::Result<()> {
    let ImageCommand::Build { image, force, force_base } = command;
    let agent_binary = agent_binary().ok_or_else(|| anyhow::anyhow!("corix-agent not found beside corix; set CORIX_AGENT_BINARY"))?;
    let docker = DockerRuntime::connect().await?;
    let build = ImageBuild { tag: image.clone(), agent_binary, force_base };
    ensure_image(&docker, &build, force || force_base, &print_progress).await?;
    println!("{image}");
    Ok(())
}

/// Builds the image when it is missing or older than the agent beside this program.
pub async fn ensure_current(docker: &bollard::Docker, image: &str) -> anyhow::Result<()> {
    let Some(agent_binary) = agent_binary() else {
        // Installed without the agent: use the image as it is.
        return Ok(());
    };
    let build = ImageBuild { tag: image.to_string(), agent_binary, force_base: false };
    if !image_is_current(docker, &build).await? {
        eprintln!("building the desktop image {image} (first start; the Debian base takes a few minutes)");
        ensure_image(docker, &build, false, &print_progress).await?;
    }
    Ok(())
}
