//! The adapters a running instance works with: what every use case is given.

use std::sync::Arc;

use super::providers::Integrations;
use crate::ports::{Clock, JobQueue, ProviderRegistry, Store};

/// The adapters a running instance works with, built once per process and shared by every request. `S` is the store
/// as far as the holder may use it: a use case states the roles it needs (`S: BookingStore + CatalogStore`), so its
/// signature says which records it touches; a process that serves everything holds `dyn Store`.
pub struct App<S: ?Sized = dyn Store> {
    pub store: Arc<S>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    /// Calendar providers and token storage; without them, connecting is refused and sync jobs fail visibly.
    pub integrations: Option<Arc<Integrations>>,
    /// Every provider this build knows, configured here or not: shown on the dashboard, its webhook mounted.
    /// The composition root passes it in; an app built without one knows no provider.
    pub registry: ProviderRegistry,
}

impl<S: ?Sized> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            integrations: self.integrations.clone(),
            registry: self.registry.clone(),
        }
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            queue,
            clock,
            integrations: None,
            registry: ProviderRegistry::default(),
        }
    }
}

impl<S: ?Sized> App<S> {
    pub fn with_registry(mut self, registry: ProviderRegistry) -> Self {
        self.registry = registry;
        self
    }

    pub fn with_integrations(mut self, integrations: Integrations) -> Self {
        self.integrations = Some(Arc::new(integrations));
        self
    }
}
