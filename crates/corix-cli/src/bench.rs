//! `corix bench`: end-to-end figures of a running Corix server, each beside the usual way of doing
//! the same thing, measured in the same computer in the same run. Medians and p95 over many runs;
//! the ratio is the usual method's median over ours.
//!
//! The usual methods are run the way people run them: `scrot` or `xwd | convert` through exec and a
//! file read (E2B Desktop's way and the classic one), `xdotool` at its default delays, the `docker`
//! CLI for `docker exec` and `docker run`.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The server's API base URL.
    #[arg(long, env = "CORIX_BASE_URL", default_value = "http://127.0.0.1:8080/api")]
    base_url: String,
    #[arg(long, env = "CORIX_API_KEY")]
    api_key: String,
    /// Runs of each per-action measurement.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Computers created for the create measurement (and plain `docker run`s beside them).
    #[arg(long, default_value_t = 3)]
    create_runs: usize,
    /// Concurrent clients for the control-plane throughput figure.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of the throughput measurement.
    #[arg(long, default_value_t = 5.0)]
    throughput_seconds: f64,
    /// The desktop image, for the plain `docker run` beside create.
    #[arg(long, env = "CORIX_IMAGE", default_value_t = crate::image::default_image())]
    image: String,
    /// Where the figures are written as JSON.
    #[arg(long, default_value = "bench.json")]
    json: PathBuf,
}

#[derive(Clone, Copy)]
struct Stats {
    median_ms: f64,
    p95_ms: f64,
    runs: usize,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| ms(samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]);
        Stats { median_ms: at(0.5), p95_ms: at(0.95), runs: samples.len() }
    }

    fn json(&self) -> Value {
        json!({ "median_ms": self.median_ms, "p95_ms": self.p95_ms, "runs": self.runs })
    }
}

struct Row {
    metric: String,
    corix: Stats,
    usual: Option<(String, Stats)>,
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<bytes::Bytes> {
        let mut request = self.http.request(method, format!("{}/v1{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            bail!("{path}: {status} {}", String::from_utf8_lossy(&bytes));
        }
        Ok(bytes)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        Ok(serde_json::from_slice(&self.send(reqwest::Method::POST, path, Some(body)).await?)?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<bytes::Bytes> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn bash(&self, id: &str, command: &str) -> anyhow::Result<Value> {
        let out = self.post(&format!("/computers/{id}/bash"), json!({ "command": command })).await?;
        if out["exit_code"] != 0 {
            bail!("`{command}` failed in the computer: {out}");
        }
        Ok(out)
    }
}

/// Times `runs` calls of `once`, after one untimed warm-up call.
async fn time<F, Fut>(runs: usize, mut once: F) -> anyhow::Result<Stats>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    once().await?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        once().await?;
        samples.push(started.elapsed());
    }
    Ok(Stats::of(samples))
}

fn docker(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("docker").args(args).output().context("running the docker CLI")?;
    if !output.status.success() {
        bail!("docker {}: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A plain `docker run` of the desktop image, timed until its desktop answers like a Corix computer's.
async fn plain_docker_run(image: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let id = docker(&[
        "run", "-d", "--rm", "--init", "--shm-size", "1g", "-e", "CORIX_AGENT_TOKEN=bench", "-p", "127.0.0.1::7777", image,
    ])?;
    let result = async {
        let address = docker(&["port", &id, "7777/tcp"])?;
        let http = reqwest::Client::new();
        loop {
            let health = http.get(format!("http://{address}/health")).bearer_auth("bench").send().await;
            if let Ok(response) = health {
                if let Ok(health) = response.json::<corix_proto::agent::AgentHealth>().await {
                    if health.is_ready() {
                        return Ok(started.elapsed());
                    }
                }
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the plain container's desktop never came up");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    .await;
    let _ = docker(&["rm", "-f", &id]);
    result
}

/// Creates that claim a warm computer (waiting for the pool to refill before each, and after the
/// last, so that later figures are not taken while the pool boots a computer), when the server
/// keeps a pool; `None` when it keeps none.
async fn warm_creates(api: &Api, runs: usize) -> anyhow::Result<Option<Stats>> {
    if pool_gauge(api, "corix_warm_pool_target ").await? < 1.0 {
        return Ok(None);
    }
    eprintln!("creating {runs} computers from the warm pool ...");
    let mut samples = Vec::new();
    for _ in 0..runs {
        pool_refilled(api).await?;
        let started = Instant::now();
        let computer = api.post("/computers", json!({ "name": "bench-warm" })).await?;
        samples.push(started.elapsed());
        api.send(reqwest::Method::DELETE, &format!("/computers/{}", computer["id"].as_str().unwrap_or_default()), None).await?;
    }
    pool_refilled(api).await?;
    Ok(Some(Stats::of(samples)))
}

/// A gauge of the server's `/metrics` page.
async fn pool_gauge(api: &Api, name: &str) -> anyhow::Result<f64> {
    let page = api.http.get(format!("{}/metrics", api.base.trim_end_matches("/api"))).send().await?.text().await?;
    Ok(page.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap_or(0.0))
}

async fn pool_refilled(api: &Api) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while pool_gauge(api, "corix_warm_pool_ready ").await? < 1.0 {
        if Instant::now() > deadline {
            bail!("the warm pool did not refill within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Memory the container uses without page cache, from its cgroup (v1 or v2), in MiB.
fn idle_memory_mib(container: &str) -> anyhow::Result<f64> {
    let full = docker(&["inspect", "-f", "{{.Id}}", container])?;
    let read = |path: String| std::fs::read_to_string(path).ok();
    let stat_value = |stat: &str, key: &str| -> u64 {
        stat.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok()).unwrap_or(0)
    };
    let (usage, inactive_file) = if let Some(usage) = read(format!("/sys/fs/cgroup/memory/docker/{full}/memory.usage_in_bytes")) {
        let stat = read(format!("/sys/fs/cgroup/memory/docker/{full}/memory.stat")).unwrap_or_default();
        (usage.trim().parse::<u64>()?, stat_value(&stat, "total_inactive_file "))
    } else {
        let dir = [format!("/sys/fs/cgroup/docker/{full}"), format!("/sys/fs/cgroup/system.slice/docker-{full}.scope")]
            .into_iter()
            .find(|d| std::path::Path::new(d).exists())
            .context("no cgroup directory for the container")?;
        let stat = read(format!("{dir}/memory.stat")).unwrap_or_default();
        (read(format!("{dir}/memory.current")).unwrap_or_default().trim().parse::<u64>()?, stat_value(&stat, "inactive_file "))
    };
    Ok(usage.saturating_sub(inactive_file) as f64 / (1024.0 * 1024.0))
}

/// Authenticated GETs per second from `concurrency` clients for `seconds`; also counts 429s.
async fn throughput(api: &Arc<Api>, id: &str, concurrency: usize, seconds: f64) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (api, ok, limited, path) = (api.clone(), ok.clone(), limited.clone(), format!("{}/v1/computers/{id}", api.base));
            tokio::spawn(async move {
                while Instant::now() < until {
                    let Ok(response) = api.http.get(&path).bearer_auth(&api.key).send().await else { continue };
                    let status = response.status();
                    if response.bytes().await.is_err() {
                        continue;
                    }
                    if status.is_success() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else if status == 429 {
                        limited.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    (ok.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), limited.load(Ordering::Relaxed))
}

fn print_table(rows: &[Row]) {
    println!("{:<34} {:>10} {:>10}   {:<28} {:>10} {:>10} {:>8}", "metric", "p50", "p95", "usual method", "p50", "p95", "ratio");
    for row in rows {
        let ours = format!("{:<34} {:>8.1}ms {:>8.1}ms", row.metric, row.corix.median_ms, row.corix.p95_ms);
        match &row.usual {
            Some((name, usual)) => println!(
                "{ours}   {name:<28} {:>8.1}ms {:>8.1}ms {:>7.1}x",
                usual.median_ms,
                usual.p95_ms,
                usual.median_ms / row.corix.median_ms
            ),
            None => println!("{ours}"),
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let api = Arc::new(Api {
        http: reqwest::Client::builder().pool_max_idle_per_host(256).build()?,
        base: args.base_url.trim_end_matches('/').to_string(),
        key: args.api_key.clone(),
    });
    let mut rows = Vec::new();

    eprintln!("creating {} computers, and as many plain `docker run`s ...", args.create_runs);
    let mut created = Vec::new();
    let mut create_times = Vec::new();
    for _ in 0..args.create_runs.max(1) {
        let started = Instant::now();
        // A disk size the warm pool does not serve: every one of these is a cold start.
        let computer = api.post("/computers", json!({ "name": "bench", "cpu": 2, "ram": 4, "disk_size_gb": 10 })).await?;
        create_times.push(started.elapsed());
        created.push(computer);
    }
    let mut docker_times = Vec::new();
    for _ in 0..args.create_runs.max(1) {
        docker_times.push(plain_docker_run(&args.image).await?);
    }
    rows.push(Row {
        metric: "create, cold, until desktop answers".into(),
        corix: Stats::of(create_times),
        usual: Some(("plain docker run, same image".into(), Stats::of(docker_times))),
    });
    if let Some(warm) = warm_creates(&api, args.create_runs.max(1)).await? {
        rows.push(Row { metric: "create from the warm pool".into(), corix: warm, usual: None });
    }
    let computer = created.pop().expect("one computer");
    for other in &created {
        api.send(reqwest::Method::DELETE, &format!("/computers/{}", other["id"].as_str().unwrap_or_default()), None).await?;
    }
    let id = computer["id"].as_str().context("computer id")?.to_string();
    let container = computer["container_id"].as_str().context("container id")?.to_string();
    let result = measure(&api, &args, &id, &container, &mut rows).await;
    api.send(reqwest::Method::DELETE, &format!("/computers/{id}"), None).await?;
    let (idle_mib, rps, limited) = result?;

    print_table(&rows);
    println!("{:<34} {:>8.0} MiB", "memory per idle computer", idle_mib);
    println!("{:<34} {:>8.0} req/s with {} clients ({limited} answered 429)", "GET /computers/{id}", rps, args.concurrency);
    let report = json!({
        "rows": rows.iter().map(|r| json!({
            "metric": r.metric,
            "corix": r.corix.json(),
            "usual": r.usual.as_ref().map(|(name, s)| json!({ "method": name, "stats": s.json(), "ratio": s.median_ms / r.corix.median_ms })),
        })).collect::<Vec<_>>(),
        "idle_memory_mib": idle_mib,
        "control_plane": { "requests_per_second": rps, "concurrency": args.concurrency, "rate_limited": limited },
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&report)? + "\n")?;
    eprintln!("figures written to {}", args.json.display());
    Ok(())
}

/// Everything measured on one computer: returns (idle memory MiB, requests per second, 429 count).
async fn measure(api: &Arc<Api>, args: &BenchArgs, id: &str, container: &str, rows: &mut Vec<Row>) -> anyhow::Result<(f64, f64, u64)> {
    let runs = args.runs;
    // Idle first: nothing opened yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_mib = idle_memory_mib(container)?;

    eprintln!("screenshots ...");
    let ours = time(runs, || async { api.get(&format!("/computers/{id}/screenshot")).await.map(drop) }).await?;
    let read_back = |file: &'static str| async move { api.get(&format!("/computers/{id}/files/download?path={file}")).await.map(drop) };
    let scrot = time(runs, || async {
        api.bash(id, "scrot -o /tmp/bench-scrot.png").await?;
        read_back("/tmp/bench-scrot.png").await
    })
    .await?;
    let xwd = time(runs, || async {
        api.bash(id, "xwd -root -silent | convert xwd:- png:/tmp/bench-xwd.png").await?;
        read_back("/tmp/bench-xwd.png").await
    })
    .await?;
    rows.push(Row { metric: "screenshot 1280x720 PNG".into(), corix: ours, usual: Some(("scrot + read the file".into(), scrot)) });
    rows.push(Row { metric: "screenshot 1280x720 PNG".into(), corix: ours, usual: Some(("xwd | convert + read".into(), xwd)) });

    eprintln!("input ...");
    // Typing goes to a terminal that swallows it.
    api.bash(id, "xfce4-terminal --disable-server -x sh -c 'cat >/dev/null' >/dev/null 2>&1 & sleep 2").await?;
    let click = time(runs, || async { api.post(&format!("/computers/{id}/click"), json!({ "x": 640, "y": 400 })).await.map(drop) }).await?;
    let xdotool_click = time(runs, || async { api.bash(id, "xdotool mousemove 640 400 click 1").await.map(drop) }).await?;
    rows.push(Row { metric: "click".into(), corix: click, usual: Some(("xdotool click via exec".into(), xdotool_click)) });
    let text = "The quick brown fox jumps over the lazy dog 0123456";
    let typed = time(runs, || async { api.post(&format!("/computers/{id}/type"), json!({ "text": &text[..50] })).await.map(drop) }).await?;
    let xdotool_type =
        time(runs, || async { api.bash(id, &format!("xdotool type '{}'", &text[..50])).await.map(drop) }).await?;
    rows.push(Row { metric: "type 50 characters".into(), corix: typed, usual: Some(("xdotool type via exec".into(), xdotool_type)) });

    eprintln!("exec ...");
    let bash = time(runs, || async { api.bash(id, "true").await.map(drop) }).await?;
    let docker_exec = time(runs, || async { docker(&["exec", container, "true"]).map(drop) }).await?;
    rows.push(Row { metric: "bash `true`".into(), corix: bash, usual: Some(("docker exec".into(), docker_exec)) });

    eprintln!("control plane throughput ...");
    let (rps, limited) = throughput(api, id, args.concurrency, args.throughput_seconds).await;
    Ok((idle_mib, rps, limited))
}
