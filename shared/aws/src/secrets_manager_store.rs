//! `SecretStore` on Secrets Manager: one secret per name under a prefix (the IAM policies grant only that prefix),
//! with a short in-process cache so a warm Lambda does not fetch a token for every job.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use booking_core::ports::{SecretError, SecretName, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::RwLock;
use tokio::time::Instant;

pub struct SecretsManagerSecretStore {
    client: Client,
    prefix: String,
    cache_ttl: Duration,
    cache: RwLock<HashMap<SecretName, (SecretString, Instant)>>,
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> SecretError {
    SecretError::Backend(Box::new(error))
}

impl SecretsManagerSecretStore {
    pub fn new(client: Client, prefix: String, cache_ttl: Duration) -> Self {
        Self {
            client,
            prefix,
            cache_ttl,
            cache: RwLock::default(),
        }
    }

    fn secret_id(&self, name: &SecretName) -> String {
        format!("{}{}", self.prefix, name.as_str())
    }
}

#[async_trait]
impl SecretStore for SecretsManagerSecretStore {
    async fn put(&self, name: &SecretName, value: &SecretString) -> Result<(), SecretError> {
        let id = self.secret_id(name);
        let updated = self
            .client
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match updated {
            Ok(_) => {}
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(&id)
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(backend)?;
            }
            Err(error) => return Err(backend(error)),
        }
        self.cache
            .write()
            .await
            .insert(name.clone(), (value.clone(), Instant::now()));
        Ok(())
    }

    async fn get(&self, name: &SecretName) -> Result<Option<SecretString>, SecretError> {
        let cached = self
            .cache
            .read()
            .await
            .get(name)
            .filter(|(_, fetched_at)| fetched_at.elapsed() < self.cache_ttl)
            .map(|(value, _)| value.clone());
        if cached.is_some() {
            return Ok(cached);
        }
        let fetched = self
            .client
            .get_secret_value()
            .secret_id(self.secret_id(name))
            .send()
            .await;
        let value = match fetched {
            Ok(output) => output.secret_string.map(SecretString::from),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(error) => return Err(backend(error)),
        };
        let mut cache = self.cache.write().await;
        match &value {
            Some(value) => {
                cache.insert(name.clone(), (value.clone(), Instant::now()));
            }
            None => {
                cache.remove(name);
            }
        }
        Ok(value)
    }

    async fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        self.cache.write().await.remove(name);
        let deleted = self
            .client
            .delete_secret()
            .secret_id(self.secret_id(name))
            .force_delete_without_recovery(true)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(backend(error)),
        }
    }
}
