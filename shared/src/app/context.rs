//! The adapters a running instance works with: what every use case is given.

use std::sync::Arc;

use super::providers::Integrations;
use crate::ports::{Clock, JobQueue, Mailer, ProviderRegistry, Store, StoreView};

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
    /// How queued messages leave; only the worker that runs `SendEmail` jobs needs one (without it they are retried
    /// until the queue gives up, so a misconfigured worker loses nothing silently).
    pub mailer: Option<Arc<dyn Mailer>>,
}

impl<S: ?Sized> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            integrations: self.integrations.clone(),
            registry: self.registry.clone(),
            mailer: self.mailer.clone(),
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
            mailer: None,
        }
    }
}

impl<S: ?Sized> App<S> {
    /// The same app holding only the view `V` of its store: what one area's routes or one function are given.
    pub fn view<V: ?Sized>(&self) -> App<V>
    where
        S: StoreView<V>,
    {
        App {
            store: self.store.clone().view(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            integrations: self.integrations.clone(),
            registry: self.registry.clone(),
            mailer: self.mailer.clone(),
        }
    }

    pub fn with_mailer(mut self, mailer: std::sync::Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn with_registry(mut self, registry: ProviderRegistry) -> Self {
        self.registry = registry;
        self
    }

    pub fn with_integrations(mut self, integrations: Integrations) -> Self {
        self.integrations = Some(Arc::new(integrations));
        self
    }
}
