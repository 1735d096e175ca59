//! The Corix desktop image: how `corix image build` (and `corix serve` on first start) makes
//! `corix-desktop:<version>` from Debian packages only.
//!
//! Two images:
//! - the base, `corix-base:<recipe hash>`: a Debian bookworm rootfs made by `mmdebstrap` from
//!   `image/packages.txt` and `image/mmdebstrap.options`, imported through the Engine API
//!   (`POST /images/create?fromSrc=-`). Slow (a minute or two), built once per recipe hash.
//! - the desktop, e.g. `corix-desktop:0.1.0`: a small layer on the base built from an in-memory
//!   context (`image/Dockerfile`, `image/files/**`, the `corix-agent` binary). Seconds.
//!
//! The recipe files are embedded in the binary, so the build works from any directory.
//! The desktop image carries labels that say what it was built from ([`LABEL_AGENT_SHA256`],
//! [`LABEL_RECIPE`], [`LABEL_LAYER`]); [`image_is_current`] compares them with what this binary
//! and the agent binary on disk would produce, so a new agent build means a quick layer rebuild.
//!
//! The control plane never runs the `docker` CLI; only `mmdebstrap` is a subprocess.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, RemoveImageOptionsBuilder,
};
use bollard::Docker;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// Repository of the imported base rootfs images; the tag is the recipe hash.
pub const BASE_REPO: &str = "corix-base";
/// Label on the desktop image: sha256 (hex) of the agent binary copied into it.
pub const LABEL_AGENT_SHA256: &str = "corix.agent_sha256";
/// Label on the desktop image: the base recipe hash (the tag of the base it was built on).
pub const LABEL_RECIPE: &str = "corix.recipe";
/// Label on the desktop image: hash of the layer recipe (Dockerfile and config files).
pub const LABEL_LAYER: &str = "corix.layer";
/// Where the agent lands inside the image (the image's CMD).
pub const AGENT_PATH_IN_IMAGE: &str = "/usr/local/bin/corix-agent";

const PACKAGES_TXT: &str = include_str!("../../../../image/packages.txt");
const MMDEBSTRAP_OPTIONS: &str = include_str!("../../../../image/mmdebstrap.options");
const DOCKERFILE: &str = include_str!("../../../../image/Dockerfile");

/// Files of the agent layer: (path in the build context, contents). They are all under
/// `files/` and the Dockerfile copies `files/` to `/`. A test checks this list against
/// `image/files` on disk, so a file added there and not here fails the tests.
const LAYER_FILES: &[(&str, &[u8])] = &[
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-desktop.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-desktop.xml"),
    ),
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-keyboard-shortcuts.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-keyboard-shortcuts.xml"),
    ),
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-panel.xml"),
    ),
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-session.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-session.xml"),
    ),
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfwm4.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfwm4.xml"),
    ),
    (
        "files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xsettings.xml",
        include_bytes!("../../../../image/files/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xsettings.xml"),
    ),
    (
        "files/usr/share/firefox-esr/distribution/policies.json",
        include_bytes!("../../../../image/files/usr/share/firefox-esr/distribution/policies.json"),
    ),
];

/// What to build.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    /// The desktop image tag, e.g. `corix-desktop:0.1.0`.
    pub tag: String,
    /// The `corix-agent` binary (a static or glibc-linked Linux binary for the image's Debian).
    pub agent_binary: PathBuf,
    /// Rebuild the base rootfs even when `corix-base:<hash>` exists.
    pub force_base: bool,
}

/// The parsed base recipe: mmdebstrap options, the suite, the mirrors and the package list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRecipe {
    /// Lines of `mmdebstrap.options` starting with `--`, in order.
    pub options: Vec<String>,
    /// The first other line: the suite (`bookworm`).
    pub suite: String,
    /// The remaining lines: one-line sources.list entries.
    pub mirrors: Vec<String>,
    /// Packages from `packages.txt`, sorted and deduplicated.
    pub packages: Vec<String>,
}

impl BaseRecipe {
    /// The recipe embedded in this binary.
    pub fn embedded() -> BaseRecipe {
        BaseRecipe::parse(PACKAGES_TXT, MMDEBSTRAP_OPTIONS)
            .expect("the embedded image recipe is valid (checked by tests)")
    }

    pub fn parse(packages_txt: &str, options_txt: &str) -> anyhow::Result<BaseRecipe> {
        let mut packages: Vec<String> = meaningful_lines(packages_txt)
            .map(|l| {
                // allow a trailing comment after a package name
                l.split('#').next().unwrap_or("").trim().to_string()
            })
            .filter(|l| !l.is_empty())
            .collect();
        packages.sort();
        packages.dedup();
        if let Some(bad) = packages.iter().find(|p| p.contains(char::is_whitespace) || p.contains(',')) {
            bail!("packages.txt: one package per line, got {bad:?}");
        }
        if packages.is_empty() {
            bail!("packages.txt lists no packages");
        }
        let mut options = Vec::new();
        let mut rest = Vec::new();
        for line in meaningful_lines(options_txt) {
            if line.starts_with("--") {
                if !rest.is_empty() {
                    bail!("mmdebstrap.options: option {line:?} after the suite; put options first");
                }
                options.push(line.to_string());
            } else {
                rest.push(line.to_string());
            }
        }
        let mut rest = rest.into_iter();
        let suite = rest.next().ok_or_else(|| anyhow!("mmdebstrap.options names no suite"))?;
        Ok(BaseRecipe { options, suite, mirrors: rest.collect(), packages })
    }

    /// First 12 hex digits of sha256 over the package list and the mmdebstrap arguments.
    /// Comments, blank lines and the order of packages do not change it.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"corix-base/v1\n[packages]\n");
        for p in &self.packages {
            h.update(p.as_bytes());
            h.update(b"\n");
        }
        h.update(b"[options]\n");
        for o in &self.options {
            h.update(o.as_bytes());
            h.update(b"\n");
        }
        h.update(b"[suite]\n");
        h.update(self.suite.as_bytes());
        h.update(b"\n[mirrors]\n");
        for m in &self.mirrors {
            h.update(m.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())[..12].to_string()
    }

    /// `corix-base:<hash>`.
    pub fn base_tag(&self) -> String {
        format!("{BASE_REPO}:{}", self.hash())
    }

    /// The full mmdebstrap argument list writing a tarball to `output`.
    pub fn mmdebstrap_args(&self, output: &Path) -> Vec<String> {
        let mut args = self.options.clone();
        // Verbose so that progress (one "Setting up ..." per package) can be shown; not part
        // of the hash because it does not change the result.
        args.push("--verbose".into());
        args.push(format!("--include={}", self.packages.join(",")));
        args.push(self.suite.clone());
        args.push(output.display().to_string());
        args.extend(self.mirrors.iter().cloned());
        args
    }
}

fn meaningful_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// sha256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The Dockerfile with its `FROM` line pointing at `base_tag`.
pub fn layer_dockerfile(base_tag: &str) -> String {
    let mut replaced = false;
    let mut out = String::with_capacity(DOCKERFILE.len() + 32);
    for line in DOCKERFILE.lines() {
        if !replaced && line.trim_start().to_ascii_uppercase().starts_with("FROM ") {
            out.push_str("FROM ");
            out.push_str(base_tag);
            replaced = true;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(replaced, "image/Dockerfile has a FROM line (checked by tests)");
    out
}

/// Hash of the agent layer's recipe (Dockerfile and config files), 12 hex digits.
pub fn layer_hash() -> String {
    let mut h = Sha256::new();
    h.update(b"corix-layer/v1\n");
    h.update(DOCKERFILE.as_bytes());
    for (path, data) in LAYER_FILES {
        h.update(b"\0");
        h.update(path.as_bytes());
        h.update(b"\0");
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    hex::encode(h.finalize())[..12].to_string()
}

/// The labels the desktop image gets (and [`image_is_current`] expects).
pub fn expected_labels(recipe_hash: &str, agent_sha256: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_AGENT_SHA256.to_string(), agent_sha256.to_string()),
        (LABEL_RECIPE.to_string(), recipe_hash.to_string()),
        (LABEL_LAYER.to_string(), layer_hash()),
    ])
}

/// The build context (an uncompressed tar) of the agent layer.
pub fn build_context(base_tag: &str, agent: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        // fixed mtime: the same inputs give the same context (and Docker's cache is reused)
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append_data(&mut header, path, data)
    };
    add("Dockerfile", layer_dockerfile(base_tag).as_bytes(), 0o644)?;
    for (path, data) in LAYER_FILES {
        add(path, data, 0o644)?;
    }
    add("corix-agent", agent, 0o755)?;
    Ok(tar.into_inner()?)
}

async fn read_agent(build: &ImageBuild) -> anyhow::Result<Vec<u8>> {
    let data = tokio::fs::read(&build.agent_binary).await.with_context(|| {
        format!(
            "cannot read the agent binary {} (build it with `cargo build --release -p corix-agent`)",
            build.agent_binary.display()
        )
    })?;
    if data.is_empty() {
        bail!("the agent binary {} is empty", build.agent_binary.display());
    }
    Ok(data)
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// Labels of an image, or `None` when the engine has no image by that name.
async fn image_labels(docker: &Docker, name: &str) -> anyhow::Result<Option<HashMap<String, String>>> {
    match docker.inspect_image(name).await {
        Ok(img) => Ok(Some(img.config.and_then(|c| c.labels).unwrap_or_default())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(anyhow!(e).context(format!("inspecting image {name}"))),
    }
}

/// Whether `build.tag` exists and was built from this binary's recipe and the agent binary
/// at `build.agent_binary` (compared through the image's labels).
pub async fn image_is_current(docker: &Docker, build: &ImageBuild) -> anyhow::Result<bool> {
    let Some(labels) = image_labels(docker, &build.tag).await? else {
        return Ok(false);
    };
    let agent = read_agent(build).await?;
    let expected = expected_labels(&BaseRecipe::embedded().hash(), &sha256_hex(&agent));
    Ok(expected.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Make sure `build.tag` exists and is current; build what is missing.
///
/// - `force`: rebuild the desktop layer even when it is current.
/// - `build.force_base`: rebuild the base rootfs even when `corix-base:<hash>` exists.
///
/// Progress lines (mmdebstrap, import, layer build) go to `progress`.
pub async fn ensure_image(
    docker: &Docker,
    build: &ImageBuild,
    force: bool,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<()> {
    let started = Instant::now();
    if !force && !build.force_base && image_is_current(docker, build).await? {
        progress(&format!("image {} is up to date", build.tag));
        return Ok(());
    }
    // One build at a time on this host (two `corix serve` starting together must not both run
    // mmdebstrap); whoever waited looks again before building.
    let _lock = super::host_lock::HostLock::acquire("image-build", |path| {
        progress(&format!("waiting for another image build to finish (lock {path})"))
    })
    .await?;
    if !force && !build.force_base && image_is_current(docker, build).await? {
        progress(&format!("image {} was built meanwhile", build.tag));
        return Ok(());
    }
    let agent = read_agent(build).await?;
    let recipe = BaseRecipe::embedded();
    let base_tag = recipe.base_tag();

    if build.force_base || image_labels(docker, &base_tag).await?.is_none() {
        build_base(docker, &recipe, progress).await?;
    } else {
        progress(&format!("reusing base image {base_tag}"));
    }

    build_layer(docker, build, &recipe, &agent, force, progress).await?;
    progress(&format!("image {} ready in {:.1} s", build.tag, started.elapsed().as_secs_f64()));
    Ok(())
}

/// A directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> anyhow::Result<TempDir> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let dir = base.join(format!("{prefix}{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(TempDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(anyhow!(e).context(format!("creating {}", dir.display()))),
            }
        }
        bail!("could not create a temporary directory in {}", base.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// mmdebstrap to a tarball, then import it as `corix-base:<hash>`.
async fn build_base(
    docker: &Docker,
    recipe: &BaseRecipe,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<()> {
    let base_tag = recipe.base_tag();
    progress(&format!(
        "building base image {base_tag} with mmdebstrap ({} packages, {} {})",
        recipe.packages.len(),
        recipe.suite,
        recipe.options.iter().find(|o| o.starts_with("--variant")).map(String::as_str).unwrap_or("")
    ));
    let tmp = TempDir::new("corix-base-")?;
    let tarball = tmp.0.join("rootfs.tar");

    let t0 = Instant::now();
    run_mmdebstrap(recipe, &tarball, progress).await?;
    let size = std::fs::metadata(&tarball).map(|m| m.len()).unwrap_or(0);
    progress(&format!(
        "mmdebstrap done in {:.1} s ({:.0} MB rootfs)",
        t0.elapsed().as_secs_f64(),
        size as f64 / 1e6
    ));

    let t1 = Instant::now();
    progress(&format!("importing the rootfs as {base_tag}"));
    let file = tokio::fs::File::open(&tarball).await.with_context(|| format!("opening {}", tarball.display()))?;
    let body = bollard::body_try_stream(file_chunks(file));
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(BASE_REPO)
        .tag(&recipe.hash())
        .message(&format!("corix base rootfs ({} packages)", recipe.packages.len()))
        .build();
    let mut stream = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| anyhow!("importing the rootfs into the engine failed: {e}"))?;
        if let Some(status) = info.status {
            progress(&format!("import: {}", status.trim()));
        }
    }
    // The engine answers with the new image id; make sure the tag is really there.
    if image_labels(docker, &base_tag).await?.is_none() {
        bail!("the engine accepted the rootfs but {base_tag} does not exist afterwards");
    }
    progress(&format!("imported {base_tag} in {:.1} s", t1.elapsed().as_secs_f64()));
    drop(tmp); // removes the tarball
    Ok(())
}

/// A file as a stream of 1 MiB chunks.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::zeroed(1 << 20);
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((buf.freeze(), file)))
    })
}

/// Whether a line of mmdebstrap's verbose output is worth showing as progress.
fn mmdebstrap_line_is_progress(line: &str) -> bool {
    line.starts_with("I: ")
        || line.starts_with("W: ")
        || line.starts_with("E: ")
        || line.starts_with("Setting up ")
        || line.starts_with("Get:")
        || line.starts_with("Fetched ")
}

async fn run_mmdebstrap(
    recipe: &BaseRecipe,
    tarball: &Path,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<()> {
    let args = recipe.mmdebstrap_args(tarball);
    let mut child = tokio::process::Command::new("mmdebstrap")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("mmdebstrap is not installed; install it with `apt-get install mmdebstrap`")
            } else {
                anyhow!(e).context("starting mmdebstrap")
            }
        })?;

    // Both pipes into one channel of lines; the last lines are kept for the error message.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    fn pump(pipe: impl AsyncRead + Unpin + Send + 'static, tx: tokio::sync::mpsc::UnboundedSender<String>) {
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        // progress bars redraw with \r: keep the last state
                        let text = String::from_utf8_lossy(&buf);
                        for part in text.split(['\r', '\n']).map(str::trim_end).filter(|p| !p.is_empty()) {
                            let _ = tx.send(part.to_string());
                        }
                    }
                }
            }
        });
    }
    pump(child.stdout.take().expect("piped stdout"), tx.clone());
    pump(child.stderr.take().expect("piped stderr"), tx);

    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut setting_up = 0usize;
    while let Some(line) = rx.recv().await {
        // apt prints some lines on both stdout and stderr
        let repeated = tail.back() == Some(&line);
        if mmdebstrap_line_is_progress(&line) && !repeated {
            if line.starts_with("Setting up ") {
                setting_up += 1;
                progress(&format!("mmdebstrap: [{setting_up}] {line}"));
            } else {
                progress(&format!("mmdebstrap: {line}"));
            }
        }
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = child.wait().await.context("waiting for mmdebstrap")?;
    if !status.success() {
        let tail: Vec<String> = tail.into_iter().collect();
        bail!("mmdebstrap failed ({status}); its last output:\n{}", tail.join("\n"));
    }
    Ok(())
}

/// Build the desktop layer on the base with the agent binary and the config files.
async fn build_layer(
    docker: &Docker,
    build: &ImageBuild,
    recipe: &BaseRecipe,
    agent: &[u8],
    no_cache: bool,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let base_tag = recipe.base_tag();
    let agent_sha = sha256_hex(agent);
    progress(&format!(
        "building {} on {base_tag} (agent {}, sha256 {})",
        build.tag,
        build.agent_binary.display(),
        &agent_sha[..12]
    ));
    let previous_id = docker.inspect_image(&build.tag).await.ok().and_then(|i| i.id);

    let context = build_context(&base_tag, agent)?;
    let labels = expected_labels(&recipe.hash(), &agent_sha);
    let options = BuildImageOptionsBuilder::new()
        .t(&build.tag)
        .labels(&labels)
        .rm(true)
        .forcerm(true)
        .nocache(no_cache)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut new_id = None;
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| anyhow!("building {} failed: {e}", build.tag))?;
        if let Some(text) = info.stream.as_deref().or(info.status.as_deref()) {
            for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                progress(&format!("build: {line}"));
            }
        }
        if let Some(id) = info.aux.and_then(|a| a.id) {
            new_id = Some(id);
        }
    }
    let Some(labels_now) = image_labels(docker, &build.tag).await? else {
        bail!("the build finished but {} does not exist", build.tag);
    };
    if labels_now.get(LABEL_AGENT_SHA256) != Some(&agent_sha) {
        bail!("the build finished but {} does not carry the new agent's label", build.tag);
    }
    // The old image lost its tag; remove it unless a container still uses it.
    let current_id = docker.inspect_image(&build.tag).await.ok().and_then(|i| i.id).or(new_id);
    if let Some(old) = previous_id {
        if Some(&old) != current_id.as_ref() {
            let opts = RemoveImageOptionsBuilder::new().force(false).build();
            match docker.remove_image(&old, Some(opts), None).await {
                Ok(_) => progress(&format!("removed the previous image {}", short_id(&old))),
                Err(e) => progress(&format!("kept the previous image {} ({e})", short_id(&old))),
            }
        }
    }
    progress(&format!("built {} in {:.1} s", build.tag, t0.elapsed().as_secs_f64()));
    Ok(())
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// `image/` on disk: next to this crate in the workspace, or found from this file's path.
    fn image_dir() -> PathBuf {
        let from_manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../image");
        if from_manifest.join("packages.txt").exists() {
            return from_manifest;
        }
        Path::new(file!()).ancestors().nth(5).expect("crates/corix-server/src/runtime/image.rs").join("image")
    }

    #[test]
    fn embedded_recipe_parses() {
        let r = BaseRecipe::embedded();
        assert_eq!(r.suite, "bookworm");
        assert!(!r.mirrors.is_empty());
        for p in ["xvfb", "xfce4", "xfce4-terminal", "dbus-x11", "firefox-esr", "python3", "nodejs", "git"] {
            assert!(r.packages.iter().any(|x| x == p), "{p} missing from packages.txt");
        }
        for p in ["xfce4-screensaver", "light-locker", "xscreensaver", "xfce4-power-manager"] {
            assert!(!r.packages.iter().any(|x| x == p), "{p} must not be installed");
        }
        let mut sorted = r.packages.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, r.packages);
    }

    #[test]
    fn hash_is_stable_and_ignores_comments_and_order() {
        let a = BaseRecipe::parse("a\nb\n# c\n", "--variant=apt\nbookworm\ndeb http://x bookworm main\n").unwrap();
        let b = BaseRecipe::parse("# x\nb  \n\na # trailing\na\n", "# opts\n--variant=apt\n\nbookworm\ndeb http://x bookworm main").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 12);
        assert!(a.hash().chars().all(|c| c.is_ascii_hexdigit()));
        // pinned: a change of the hash scheme makes every installation rebuild its base
        assert_eq!(a.hash(), "81a2e240b84b");
        let c = BaseRecipe::parse("a\nb\nc\n", "--variant=apt\nbookworm\ndeb http://x bookworm main\n").unwrap();
        assert_ne!(a.hash(), c.hash());
        let d = BaseRecipe::parse("a\nb\n", "--variant=minbase\nbookworm\ndeb http://x bookworm main\n").unwrap();
        assert_ne!(a.hash(), d.hash());
        assert_eq!(BaseRecipe::embedded().hash(), BaseRecipe::embedded().hash());
        assert_eq!(BaseRecipe::embedded().base_tag(), format!("corix-base:{}", BaseRecipe::embedded().hash()));
    }

    #[test]
    fn bad_recipes_are_rejected() {
        assert!(BaseRecipe::parse("", "bookworm").is_err());
        assert!(BaseRecipe::parse("a b\n", "bookworm").is_err());
        assert!(BaseRecipe::parse("a\n", "--variant=apt\n").is_err());
        assert!(BaseRecipe::parse("a\n", "bookworm\n--variant=apt\n").is_err());
    }

    #[test]
    fn mmdebstrap_args_order() {
        let r = BaseRecipe::parse("b\na\n", "--variant=apt\nbookworm\ndeb http://m bookworm main\n").unwrap();
        let args = r.mmdebstrap_args(Path::new("/tmp/x/rootfs.tar"));
        assert_eq!(
            args,
            vec!["--variant=apt", "--verbose", "--include=a,b", "bookworm", "/tmp/x/rootfs.tar", "deb http://m bookworm main"]
        );
    }

    #[test]
    fn dockerfile_from_is_replaced() {
        let d = layer_dockerfile("corix-base:0123456789ab");
        let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM")).collect();
        assert_eq!(froms, vec!["FROM corix-base:0123456789ab"]);
        assert!(d.contains("CMD [\"/usr/local/bin/corix-agent\"]"));
        assert!(d.contains("EXPOSE 7777"));
        assert!(d.contains("LANG=C.UTF-8"));
    }

    #[test]
    fn layer_files_match_the_image_directory() {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        let root = image_dir();
        let mut on_disk = Vec::new();
        walk(&root.join("files"), &root, &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = LAYER_FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "image/files and LAYER_FILES differ");
        for (p, data) in LAYER_FILES {
            assert_eq!(std::fs::read(root.join(p)).unwrap(), *data, "{p} is stale");
        }
        let policies: serde_json::Value = serde_json::from_slice(
            LAYER_FILES.iter().find(|(p, _)| p.ends_with("policies.json")).unwrap().1,
        )
        .unwrap();
        assert_eq!(policies["policies"]["DisableAppUpdate"], true);
    }

    #[test]
    fn context_contains_dockerfile_files_and_agent() {
        let agent = b"#!/bin/sh\nexec sleep infinity\n";
        let ctx = build_context("corix-base:abc", agent).unwrap();
        let mut archive = tar::Archive::new(ctx.as_slice());
        let mut seen = HashMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            seen.insert(path, (mode, data));
        }
        assert_eq!(seen.len(), 2 + LAYER_FILES.len());
        let (mode, data) = &seen["corix-agent"];
        assert_eq!(*mode, 0o755);
        assert_eq!(data.as_slice(), agent);
        let dockerfile = String::from_utf8(seen["Dockerfile"].1.clone()).unwrap();
        assert!(dockerfile.contains("FROM corix-base:abc\n"));
        for (p, d) in LAYER_FILES {
            assert_eq!(seen[*p].1.as_slice(), *d);
            assert_eq!(seen[*p].0, 0o644);
        }
        // deterministic
        assert_eq!(ctx, build_context("corix-base:abc", agent).unwrap());
    }

    #[test]
    fn labels_cover_agent_recipe_and_layer() {
        let l = expected_labels("0123456789ab", &sha256_hex(b"agent"));
        assert_eq!(l[LABEL_RECIPE], "0123456789ab");
        assert_eq!(l[LABEL_AGENT_SHA256], sha256_hex(b"agent"));
        assert_eq!(l[LABEL_AGENT_SHA256].len(), 64);
        assert_eq!(l[LABEL_LAYER], layer_hash());
    }

    #[test]
    fn progress_filter() {
        assert!(mmdebstrap_line_is_progress("I: downloading packages with apt..."));
        assert!(mmdebstrap_line_is_progress("Setting up xvfb (2:21.1.7-3+deb12u10) ..."));
        assert!(!mmdebstrap_line_is_progress("Unpacking libc6:amd64 ..."));
    }
}
