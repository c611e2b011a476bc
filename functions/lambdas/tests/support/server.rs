//! The booking-server binary on a deployment, as a container would run it: the deployment's environment, a port of
//! its own, reached over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use booking_aws::emulators::free_port;
use serde_json::Value;
use tokio::process::Child;

use super::{Deployment, deployment_environment, spawn_collecting};

const BOOKING_SERVER: &str = env!("CARGO_BIN_EXE_booking-server");

/// The origin the server is told it is published at: its own loopback address, which browsers treat as secure.
pub struct Server {
    pub url: String,
    process: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server with `extra` variables and waits until `/healthz` says the store and the queue answer.
    pub async fn start(deployment: &Deployment, extra: &[(&str, &str)]) -> Server {
        let port = free_port().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut environment = deployment_environment(deployment);
        environment.extend([
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("PUBLIC_BASE_URL", url.clone()),
            ("OAUTH_STATE_KEY", "k".repeat(32)),
        ]);
        environment.extend(
            extra
                .iter()
                .map(|(name, value)| (*name, (*value).to_owned())),
        );
        let (process, output) = spawn_collecting(BOOKING_SERVER, &[], environment);
        let server = Server {
            url,
            process,
            output,
        };
        server.wait_until_healthy().await;
        server
    }

    async fn wait_until_healthy(&self) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = client.get(format!("{}/healthz", self.url)).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "booking-server never became healthy: {:?}",
            self.output().await
        );
    }

    /// Sends SIGTERM, as a container runtime does to stop a task.
    pub fn terminate(&self) {
        let pid = self.process.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and says whether it exited cleanly.
    pub async fn exited_cleanly(&mut self) -> bool {
        self.process.wait().await.unwrap().success()
    }

    /// Every line the server wrote so far, stdout and stderr.
    pub async fn output(&self) -> Vec<String> {
        // Lines travel through a pipe and a reader task; give them a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.output.lock().unwrap().clone()
    }

    /// The JSON log lines written so far whose message is `message`.
    pub async fn logged(&self, message: &str) -> Vec<Value> {
        self.output()
            .await
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == message)
            .collect()
    }
}
