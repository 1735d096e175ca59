//! Builds the real desktop image against the local Docker engine. Slow the first time
//! (mmdebstrap, a minute or more), seconds afterwards; needs root (or unprivileged user
//! namespaces) for mmdebstrap and a running dockerd, so it is ignored by default:
//!
//! ```sh
//! cargo test -p corix-server --test image_build -- --ignored --nocapture
//! ```
//!
//! The agent binary is `$CORIX_AGENT_BINARY`, else `target/{release,debug}/corix-agent`, else a
//! placeholder shell script (the image is then built but its CMD is not the real agent).

use std::path::PathBuf;
use std::time::Instant;

use corix_server::runtime::image::{ensure_image, image_is_current, ImageBuild};

fn agent_binary() -> PathBuf {
    if let Ok(p) = std::env::var("CORIX_AGENT_BINARY") {
        return p.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for profile in ["release", "debug"] {
        let p = root.join("target").join(profile).join("corix-agent");
        if p.exists() {
            return p;
        }
    }
    let p = std::env::temp_dir().join("corix-placeholder-agent.sh");
    std::fs::write(&p, "#!/bin/sh\nexec sleep infinity\n").unwrap();
    p
}

#[tokio::test]
#[ignore = "builds a real image with mmdebstrap and dockerd"]
async fn builds_and_reuses_the_desktop_image() {
    let docker = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    let build = ImageBuild {
        tag: "corix-desktop:test".into(),
        agent_binary: agent_binary(),
        force_base: false,
    };
    let t0 = Instant::now();
    let progress = move |line: &str| eprintln!("[{:7.1}s] {line}", t0.elapsed().as_secs_f64());
    ensure_image(&docker, &build, false, &progress).await.unwrap();
    assert!(image_is_current(&docker, &build).await.unwrap());

    // a second call finds it current and does nothing
    let t1 = Instant::now();
    ensure_image(&docker, &build, false, &progress).await.unwrap();
    assert!(t1.elapsed().as_secs() < 5);

    // forcing rebuilds only the layer (the base is reused)
    let t2 = Instant::now();
    ensure_image(&docker, &build, true, &progress).await.unwrap();
    eprintln!("forced layer rebuild: {:.1} s", t2.elapsed().as_secs_f64());
    assert!(image_is_current(&docker, &build).await.unwrap());

    docker
        .remove_image("corix-desktop:test", None::<bollard::query_parameters::RemoveImageOptions>, None)
        .await
        .unwrap();
}
