//! The port contracts, run against the local adapters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use booking_core::adapters::{EmbeddedStore, FileSecretStore, InProcessQueue};
use booking_core::ports::{JobQueue, QueueSettings, SecretStore, Store};
use tempfile::TempDir;

async fn embedded_store() -> (Arc<dyn Store>, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
    (Arc::new(store), directory)
}

async fn in_process_queue(settings: QueueSettings) -> (Arc<dyn JobQueue>, ()) {
    (Arc::new(InProcessQueue::new(settings)), ())
}

async fn file_secrets() -> (Arc<dyn SecretStore>, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    (
        Arc::new(FileSecretStore::open(directory.path()).unwrap()),
        directory,
    )
}

mod embedded_store {
    booking_core::store_contract_tests!(super::embedded_store);
}

mod embedded_account_store {
    booking_core::account_store_contract_tests!(super::embedded_store);
}

mod in_process_queue {
    booking_core::queue_contract_tests!(super::in_process_queue);
}

mod file_secrets {
    booking_core::secret_store_contract_tests!(super::file_secrets);
}
