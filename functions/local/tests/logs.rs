//! The server as a person runs it, with its log written to a file: no terminal colour codes in it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn a_log_written_to_a_file_has_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_local-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path().join("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let started: serde_json::Value = serde_json::from_str(&first_line).unwrap();
    let address = started["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://");

    // One request, so the log has a request span and a response line with fields, where colours would go.
    let mut connection = TcpStream::connect(address).unwrap();
    connection
        .write_all(b"GET /v1/services HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    connection.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    server.kill().unwrap();
    server.wait().unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("response"), "the request was logged: {log}");
    assert!(
        log.contains("status=401"),
        "fields are plain key=value: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no escape sequences in a log file: {log:?}"
    );
}
