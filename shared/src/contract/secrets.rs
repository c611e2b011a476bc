//! What every `SecretStore` must do.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::ports::{SecretName, SecretStore};

fn name(text: &str) -> SecretName {
    SecretName::new(text).unwrap()
}

async fn read(secrets: &dyn SecretStore, secret: &SecretName) -> Option<String> {
    secrets
        .get(secret)
        .await
        .unwrap()
        .map(|value| value.expose_secret().to_owned())
}

pub async fn secrets_are_put_read_replaced_and_deleted(secrets: Arc<dyn SecretStore>) {
    let secret = name("calendar/google/business-1");
    // Written, then replaced: each read finds the latest value.
    for value in ["refresh-token-1", "refresh-token-2"] {
        secrets
            .put(&secret, &SecretString::from(value))
            .await
            .unwrap();
        assert_eq!(
            read(secrets.as_ref(), &secret).await.as_deref(),
            Some(value)
        );
    }
    secrets.delete(&secret).await.unwrap();
    assert_eq!(read(secrets.as_ref(), &secret).await, None);
}

pub async fn missing_secrets_are_absent_and_deleting_them_is_fine(secrets: Arc<dyn SecretStore>) {
    let secret = name("never-written");
    assert_eq!(read(secrets.as_ref(), &secret).await, None);
    secrets.delete(&secret).await.unwrap();
}

pub async fn names_that_differ_only_in_punctuation_stay_apart(secrets: Arc<dyn SecretStore>) {
    let written = [(name("a/b"), "slash"), (name("a_b"), "underscore")];
    for (secret, value) in &written {
        secrets
            .put(secret, &SecretString::from(*value))
            .await
            .unwrap();
    }
    // Every value is read back under its own name, none overwritten by the other.
    for (secret, value) in &written {
        assert_eq!(
            read(secrets.as_ref(), secret).await.as_deref(),
            Some(*value)
        );
    }
}
