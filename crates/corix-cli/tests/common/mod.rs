//! Test harness: starts the real `corix` binary on a free port with a fresh store and the real
//! Docker engine, and talks HTTP to it. Dropping a server kills it and removes its containers.
#![allow(dead_code)]

use corix_server::runtime::{DockerRuntime, Runtime};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use reqwest::Method;

pub struct Server {
    child: Option<Child>,
    pub addr: String,
    /// The bootstrap admin's key (plan scale).
    pub key: String,
    pub data: tempfile::TempDir,
    env: Vec<(String, String)>,
    pub http: reqwest::Client,
}

fn fresh_key() -> String {
    use std::fmt::Write;
    let mut key = String::from("crx_test");
    let bytes: [u8; 20] = std::array::from_fn(|_| rand_byte());
    for b in bytes {
        write!(key, "{b:02x}").unwrap();
    }
    key
}

fn rand_byte() -> u8 {
    let mut b = [0u8; 1];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b)).unwrap();
    b[0]
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    /// Starts a server with extra environment (`CORIX_*` settings).
    pub async fn start_with(env: &[(&str, &str)]) -> Server {
        let data = tempfile::tempdir().unwrap();
        let key = fresh_key();
        let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        env.push(("CORIX_BOOTSTRAP_API_KEY".into(), key.clone()));
        let (child, addr) = spawn(data.path(), &env);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(180)).build().unwrap();
        Server { child: Some(child), addr, key, data, env, http }
    }

    /// SIGTERM, and wait for the server to finish.
    pub fn stop_gracefully(&mut self) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            child.wait().unwrap();
        }
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts the server again on the same store (a new port).
    pub fn restart(&mut self) {
        self.kill9();
        let (child, addr) = spawn(self.data.path(), &self.env);
        self.child = Some(child);
        self.addr = addr;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr)
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(&self.key, method, path, body).await
    }

    pub async fn call_as(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Runs `corix` with this server's data dir, returning the last line of its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_corix"))
            .args(args)
            .env("CORIX_DATA_DIR", self.data.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "corix {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().last().unwrap_or_default().to_string()
    }

    /// A new user on `plan`, returning its API key.
    pub fn create_user(&self, email: &str, plan: &str) -> String {
        self.cli(&["users", "create", "--email", email, "--plan", plan])
    }

    /// Creates a running computer and returns its JSON.
    pub async fn create_computer(&self, body: Value) -> Value {
        let (status, computer) = self.post("/computers", body).await;
        assert_eq!(status, 201, "create: {computer}");
        assert_eq!(computer["status"], "running", "{computer}");
        computer
    }

    /// Waits (bounded) until the computer has `status`.
    pub async fn wait_for_status(&self, id: &str, status: &str, within: Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let (code, computer) = self.get(&format!("/computers/{id}")).await;
            assert_eq!(code, 200, "{computer}");
            if computer["status"] == status {
                return computer;
            }
            assert!(std::time::Instant::now() < deadline, "computer never became {status}: {computer}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs a bash command in the computer and returns (stdout, exit_code).
    pub async fn bash(&self, id: &str, command: &str) -> (String, i64) {
        let (status, out) = self.post(&format!("/computers/{id}/bash"), serde_json::json!({ "command": command })).await;
        assert_eq!(status, 200, "bash {command}: {out}");
        (out["stdout"].as_str().unwrap().to_string(), out["exit_code"].as_i64().unwrap())
    }

    pub fn instance(&self) -> String {
        let store = corix_server::store::Store::open(&self.data.path().join("corix.db")).unwrap();
        store.setting("instance_id").unwrap().unwrap()
    }

    /// A runtime that sees this server's containers, for checks behind its back.
    pub async fn runtime(&self) -> DockerRuntime {
        DockerRuntime::new(DockerRuntime::connect().await.unwrap(), self.instance(), "corix".into())
    }
}

fn spawn(data_dir: &std::path::Path, env: &[(String, String)]) -> (Child, String) {
    let stderr = std::fs::File::create(data_dir.join("server.err")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_corix"))
        .arg("serve")
        .env("CORIX_LISTEN", "127.0.0.1:0")
        .env("CORIX_DATA_DIR", data_dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(600)).unwrap_or_else(|_| {
        panic!("server did not start: {}", std::fs::read_to_string(data_dir.join("server.err")).unwrap_or_default())
    });
    (child, addr)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        let Ok(instance) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.instance())) else { return };
        // Remove whatever the test left running; a runtime of its own since Drop may run inside one.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let runtime = DockerRuntime::new(DockerRuntime::connect().await.unwrap(), instance, "corix".into());
                for container in runtime.list().await.unwrap_or_default() {
                    let _ = runtime.remove(&container.id).await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// (CPU quota in microseconds per 100 ms period, memory limit in bytes) from the host's cgroup files.
pub fn cgroup_limits(full_id: &str) -> (i64, i64) {
    let read = |paths: &[String]| -> String {
        paths
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_else(|| panic!("no cgroup file among {paths:?}"))
            .trim()
            .to_string()
    };
    let v1_cpu = [format!("/sys/fs/cgroup/cpu/docker/{full_id}/cpu.cfs_quota_us"), format!("/sys/fs/cgroup/cpu,cpuacct/docker/{full_id}/cpu.cfs_quota_us")];
    let v2 = [format!("/sys/fs/cgroup/docker/{full_id}"), format!("/sys/fs/cgroup/system.slice/docker-{full_id}.scope")];
    if v1_cpu.iter().any(|p| std::path::Path::new(p).exists()) {
        let quota = read(&v1_cpu).parse().unwrap();
        let memory = read(&[format!("/sys/fs/cgroup/memory/docker/{full_id}/memory.limit_in_bytes")]).parse().unwrap();
        (quota, memory)
    } else {
        let cpu_max = read(&v2.iter().map(|d| format!("{d}/cpu.max")).collect::<Vec<_>>());
        let memory = read(&v2.iter().map(|d| format!("{d}/memory.max")).collect::<Vec<_>>()).parse().unwrap();
        (cpu_max.split_whitespace().next().unwrap().parse().unwrap(), memory)
    }
}

pub async fn full_container_id(server: &Server, computer_id: &str) -> String {
    server.runtime().await.inspect(&format!("corix-{computer_id}")).await.unwrap().expect("container exists").id
}

