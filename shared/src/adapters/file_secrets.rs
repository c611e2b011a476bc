//! `SecretStore` on the local file system: one file per secret, readable by the owner only, replaced atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::ports::{SecretError, SecretName, SecretStore};

pub struct FileSecretStore {
    directory: PathBuf,
}

fn backend(error: std::io::Error) -> SecretError {
    SecretError::Backend(Box::new(error))
}

impl FileSecretStore {
    pub fn open(directory: &Path) -> Result<Self, SecretError> {
        std::fs::create_dir_all(directory).map_err(backend)?;
        Ok(Self {
            directory: directory.to_owned(),
        })
    }

    fn path_of(&self, name: &SecretName) -> PathBuf {
        // Hex keeps any valid name (with '/' and friends) a single plain file name.
        self.directory.join(hex::encode(name.as_str()))
    }
}

#[async_trait]
impl SecretStore for FileSecretStore {
    async fn put(&self, name: &SecretName, value: &SecretString) -> Result<(), SecretError> {
        let path = self.path_of(name);
        let temporary = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        let value = value.expose_secret().as_bytes().to_vec();
        tokio::task::spawn_blocking(move || {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            file.write_all(&value)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)
        })
        .await
        .map_err(|error| SecretError::Backend(Box::new(error)))?
        .map_err(backend)
    }

    async fn get(&self, name: &SecretName) -> Result<Option<SecretString>, SecretError> {
        match tokio::fs::read_to_string(self.path_of(name)).await {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete(&self, name: &SecretName) -> Result<(), SecretError> {
        match tokio::fs::remove_file(self.path_of(name)).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }
}
