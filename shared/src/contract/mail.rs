//! The mailer contract: what each adapter's service received, read back from it (the outbox folder, a real SMTP
//! server, moto's SES), is one multipart message per send, to its recipient only, with both bodies. Also the real
//! SMTP server the tests run ([`SmtpServer`]) and the reading of a link out of a received message ([`link_in`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{Email, Mailer, SignInEmail};

/// Every message an adapter's service has received so far, each as its RFC 5322 text.
#[async_trait]
pub trait Delivered: Send + Sync {
    async fn messages(&self) -> Vec<String>;
}

/// The `.eml` files of a folder: the outbox adapter's, or the maildir `new/` folder of [`SmtpServer`].
pub struct FolderOfMessages(pub PathBuf);

#[async_trait]
impl Delivered for FolderOfMessages {
    async fn messages(&self) -> Vec<String> {
        read_folder(&self.0)
    }
}

fn read_folder(folder: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        // The outbox's half-written files end in `.partial`; a maildir's names end in the host's name.
        .filter(|path| {
            path.extension()
                .is_none_or(|extension| extension != "partial")
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .collect()
}

/// A real SMTP server (aiosmtpd, from the tests' virtualenv) on a free loopback port, keeping every message it
/// receives in a maildir; stopped when dropped.
pub struct SmtpServer {
    port: u16,
    folder: tempfile::TempDir,
    _process: tokio::process::Child,
}

impl SmtpServer {
    /// `None` when aiosmtpd is not installed and this is not CI (the caller skips, after this said why).
    pub async fn start() -> Option<Self> {
        let python = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.tools/venv/bin/python"
        ));
        let installed = std::process::Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !installed {
            assert!(
                !std::env::var("CI").is_ok_and(|ci| ci == "true"),
                "aiosmtpd is not installed (run scripts/install-test-tools.sh)"
            );
            eprintln!("skipped: aiosmtpd is not installed (run scripts/install-test-tools.sh)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap();
        let folder = tempfile::tempdir().unwrap();
        let process = tokio::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(folder.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Self {
                    port,
                    folder,
                    _process: process,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// The URL the SMTP adapter takes: plain SMTP on loopback, as to a relay on the same machine.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// What the server received so far.
    pub fn delivered(&self) -> FolderOfMessages {
        FolderOfMessages(self.folder.path().join("mail/new"))
    }

    /// The first message to `to` that arrives within a few seconds (the worker sends queued mail in the background).
    pub async fn wait_for_message_to(&self, to: &str) -> String {
        wait_for_message_to(&self.delivered(), to).await
    }
}

/// The first message to `to` that `delivered` holds within ten seconds; panics without one.
pub async fn wait_for_message_to(delivered: &dyn Delivered, to: &str) -> String {
    for _ in 0..100 {
        if let Some(found) = messages_to(&delivered.messages().await, to)
            .into_iter()
            .next()
        {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no message to {to} arrived; received: {:?}",
        delivered.messages().await
    );
}

/// The messages whose `To:` header names `to`.
pub fn messages_to(messages: &[String], to: &str) -> Vec<String> {
    messages
        .iter()
        .filter(|message| {
            message
                .lines()
                .any(|line| line.to_ascii_lowercase().starts_with("to:") && line.contains(to))
        })
        .cloned()
        .collect()
}

/// A message's text with quoted-printable undone (soft line breaks joined, `=XX` decoded), so a long link reads
/// whole.
pub fn decoded(message: &str) -> String {
    let joined = message.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first link in a received `message` whose address starts with `prefix`, quoted-printable undone.
pub fn link_in(message: &str, prefix: &str) -> Option<String> {
    first_link(&decoded(message), prefix)
}

/// The first link in plain `text` (an [`crate::ports::Email`]'s body as written) whose address starts with `prefix`.
pub fn first_link(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    Some(link.replace("&amp;", "&"))
}

fn email(to: &str, subject: &str) -> Email {
    Email {
        to: SignInEmail::try_from(to.to_owned()).unwrap(),
        subject: subject.to_owned(),
        text: format!(
            "Plain words for {to}.\nhttps://bookings.example.com/dashboard/verify-email?token=abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFG\n"
        ),
        html: format!("<p>HTML words for {to}.</p>"),
    }
}

/// A recipient no other test or run uses, so adapters that share one service (moto) keep tests apart.
fn unique_recipient(name: &str) -> String {
    format!("{name}-{}@clinic.test", uuid::Uuid::new_v4().simple())
}

pub async fn a_message_arrives_once_as_text_and_html_from_the_sender(
    mailer: Arc<dyn Mailer>,
    delivered: impl Delivered,
) {
    let to = unique_recipient("ana");
    mailer
        .send(&email(&to, "Confirm your email for Harbour Dental"))
        .await
        .unwrap();
    let received = wait_for_message_to(&delivered, &to).await;
    assert_eq!(messages_to(&delivered.messages().await, &to).len(), 1);
    assert!(
        received.contains("Subject: Confirm your email for Harbour Dental"),
        "{received}"
    );
    assert!(
        received.contains("From: ") && received.contains("no-reply@clinic.test"),
        "{received}"
    );
    assert!(received.contains("multipart/alternative"), "{received}");
    let text = decoded(&received);
    let plain = text.find("text/plain").unwrap();
    let html = text.find("text/html").unwrap();
    assert!(
        plain < html,
        "plain text first, so clients that can show HTML prefer it"
    );
    assert!(text.contains(&format!("Plain words for {to}.")), "{text}");
    assert!(
        text.contains(&format!("<p>HTML words for {to}.</p>")),
        "{text}"
    );
    assert_eq!(
        link_in(&received, "https://bookings.example.com/").as_deref(),
        Some(
            "https://bookings.example.com/dashboard/verify-email?token=abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFG"
        ),
        "a link longer than a mail line arrives whole"
    );
}

pub async fn each_recipient_gets_only_their_own_message(
    mailer: Arc<dyn Mailer>,
    delivered: impl Delivered,
) {
    let ana = unique_recipient("ana");
    let ben = unique_recipient("ben");
    mailer.send(&email(&ana, "For Ana")).await.unwrap();
    mailer.send(&email(&ben, "For Ben")).await.unwrap();
    let to_ben = wait_for_message_to(&delivered, &ben).await;
    let to_ana = wait_for_message_to(&delivered, &ana).await;
    assert!(to_ana.contains("Subject: For Ana") && !to_ana.contains(&ben));
    assert!(to_ben.contains("Subject: For Ben") && !to_ben.contains(&ana));
}
