//! The adapters a running instance works with: what every use case is given.

use std::sync::Arc;

use super::providers::Integrations;
use crate::ports::{Clock, JobQueue, Store};

/// The adapters a running instance works with, built once per process and shared by every request.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    /// Calendar providers and token storage; without them, connecting is refused and sync jobs fail visibly.
    pub integrations: Option<Arc<Integrations>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            queue,
            clock,
            integrations: None,
        }
    }

    pub fn with_integrations(mut self, integrations: Integrations) -> Self {
        self.integrations = Some(Arc::new(integrations));
        self
    }
}
