//! Real AWS emulators for tests, started on free loopback ports: DynamoDB Local (AWS's own) and moto's server.
//! `scripts/install-test-tools.sh` installs both into `.tools/`. One emulator process serves a whole test binary;
//! tests keep apart by creating their own tables and queues.
//!
//! When one is missing, tests skip with a message, except under `CI=true`, where a missing emulator is an error.

pub mod dynamodb_local;
pub mod moto;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use std::process::{Child, Command};

use tokio::sync::OnceCell;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{0} is not installed (run scripts/install-test-tools.sh)")]
    Missing(String),
    #[error("{what} did not start: {detail}")]
    DidNotStart { what: &'static str, detail: String },
    #[error("{what} failed: {detail}")]
    Failed { what: &'static str, detail: String },
}

/// `Ok(None)` for a missing emulator outside CI (the caller skips); an error under `CI=true`.
pub fn missing_unless_ci<T>(what: String) -> Result<Option<T>, EmulatorError> {
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        Err(EmulatorError::Missing(what))
    } else {
        Ok(None)
    }
}

/// The workspace's `.tools/` folder, where the test tools are installed.
pub fn tools_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.tools"))
}

/// Where a test tool is: the path the environment variable `variable` names, else `installed` under [`tools_dir`].
pub fn tool_path(variable: &str, installed: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join(installed))
}

pub fn free_port() -> Result<u16, EmulatorError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| EmulatorError::DidNotStart {
            what: "port search",
            detail: error.to_string(),
        })
}

/// Starts `program args…` under a small shell watchdog that stops it when this test process exits: emulators live
/// in statics shared by a test binary's tests, and statics are never dropped. It is a std process, not a tokio one,
/// because each test has its own runtime and the first one ends long before the emulator should.
pub fn spawn_tied_to_this_process(
    what: &'static str,
    program: &str,
    args: &[String],
) -> Result<Child, EmulatorError> {
    let quoted: Vec<String> = std::iter::once(program.to_owned())
        .chain(args.iter().cloned())
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect();
    let script = format!(
        "{} & child=$!; trap 'kill $child 2>/dev/null' EXIT INT TERM; \
         while kill -0 {} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done",
        quoted.join(" "),
        std::process::id()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| EmulatorError::DidNotStart {
            what,
            detail: error.to_string(),
        })
}

/// An emulator serving on a loopback port, under the watchdog of [`spawn_tied_to_this_process`]. It holds the
/// endpoint, not clients: an SDK client keeps connections on the runtime that made them, and every test has its own
/// runtime.
pub struct LoopbackServer {
    endpoint: String,
    _process: Child,
}

impl LoopbackServer {
    /// Starts `what` as `program args… port_flag PORT` on a free loopback port, and waits until it listens there.
    pub async fn start(
        what: &'static str,
        program: &str,
        args: &[&str],
        port_flag: &str,
    ) -> Result<Self, EmulatorError> {
        let port = free_port()?;
        let args: Vec<String> = args
            .iter()
            .chain(&[port_flag])
            .map(|arg| (*arg).to_owned())
            .chain([port.to_string()])
            .collect();
        let process = spawn_tied_to_this_process(what, program, &args)?;
        wait_for_port(what, port).await?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

/// The test binary's one instance of an emulator, started by `start` on first use; `None` when it is not installed
/// and not in CI.
pub async fn shared_instance<T, Started>(
    instance: &'static OnceCell<Option<T>>,
    start: impl FnOnce() -> Started,
) -> Result<Option<&'static T>, EmulatorError>
where
    Started: Future<Output = Result<Option<T>, EmulatorError>>,
{
    instance.get_or_try_init(start).await.map(Option::as_ref)
}

/// Waits until something accepts connections on the port.
pub async fn wait_for_port(what: &'static str, port: u16) -> Result<(), EmulatorError> {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(EmulatorError::DidNotStart {
        what,
        detail: format!("nothing listened on port {port} within 30 s"),
    })
}

/// SDK configuration for an emulator: fixed region, dummy credentials, the emulator's endpoint.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}
