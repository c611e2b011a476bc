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
        Self::start_with_arguments(deployment, &[], extra).await
    }

    /// [`Server::start`], with command-line `arguments`.
    pub async fn start_with_arguments(
        deployment: &Deployment,
        arguments: &[&str],
        extra: &[(&str, &str)],
    ) -> Server {
        let server = Self::spawn(deployment, arguments, extra);
        let (status, health) = server.health().await;
        assert_eq!(status, 200, "booking-server is not healthy: {health}");
        server
    }

    /// Spawns the server on a port of its own, without waiting for it.
    pub fn spawn(deployment: &Deployment, arguments: &[&str], extra: &[(&str, &str)]) -> Server {
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
        let (process, output) = spawn_collecting(BOOKING_SERVER, arguments, environment);
        Server {
            url,
            process,
            output,
        }
    }

    /// The first answer of `/healthz`, once the server listens: status and body.
    pub async fn health(&self) -> (u16, Value) {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = client.get(format!("{}/healthz", self.url)).send().await {
                let status = response.status().as_u16();
                return (status, response.json().await.unwrap());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("booking-server never listened: {:?}", self.output().await);
    }

    /// Runs the server with `arguments` and the deployment's environment without the endpoint of DynamoDB, as on
    /// AWS, and answers its exit status and output once it has stopped by itself.
    pub async fn run_against_aws(
        deployment: &Deployment,
        arguments: &[&str],
    ) -> (std::process::ExitStatus, Vec<String>) {
        let mut environment = deployment_environment(deployment);
        environment.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_DYNAMODB");
        environment.extend([
            (
                "PUBLIC_BASE_URL",
                "https://bookings.example.test".to_owned(),
            ),
            ("OAUTH_STATE_KEY", "k".repeat(32)),
        ]);
        let (mut process, output) = spawn_collecting(BOOKING_SERVER, arguments, environment);
        let status = tokio::time::timeout(Duration::from_secs(30), process.wait())
            .await
            .expect("the server stops by itself")
            .unwrap();
        // Lines travel through a pipe and a reader task; give them a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let output = output.lock().unwrap().clone();
        (status, output)
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
