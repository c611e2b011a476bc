//! What both calendar clients do alike over HTTP: one API base, every request sent with the account's bearer token,
//! a refused answer sorted by the provider's own reading of its error body, and a failure to get an answer (or to
//! read it) counted as transient.

use std::future::Future;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::ports::ProviderError;

/// One provider API over the process's shared HTTP client.
pub(super) struct ProviderApi {
    /// Carries the request timeout (see [`super::http_client`]).
    pub(super) http: reqwest::Client,
    /// Ends in `/`; configurable so tests and demos can use an emulator.
    pub(super) base: String,
}

impl ProviderApi {
    pub(super) fn new(http: reqwest::Client, base: impl Into<String>) -> Self {
        let mut base = base.into();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self { http, base }
    }

    /// Sends `request` as the account whose access token is `token`.
    pub(super) async fn send(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<reqwest::Response, ProviderError> {
        request
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(transport)
    }

    /// Sends `request` and reads the body of a successful answer; any other answer is sorted by the provider's
    /// `refusal`.
    pub(super) async fn fetch<T, Refused>(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
        refusal: impl FnOnce(reqwest::Response) -> Refused,
    ) -> Result<T, ProviderError>
    where
        T: DeserializeOwned,
        Refused: Future<Output = ProviderError>,
    {
        let response = self.send(request, token).await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        json_of(response).await
    }

    /// Sends a request whose goal is also reached when the provider answers one of `already_done` (removing what
    /// is gone already, for one); any other failure is sorted by the provider's `refusal`.
    pub(super) async fn settle<Refused>(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
        already_done: &[StatusCode],
        refusal: impl FnOnce(reqwest::Response) -> Refused,
    ) -> Result<(), ProviderError>
    where
        Refused: Future<Output = ProviderError>,
    {
        let response = self.send(request, token).await?;
        let status = response.status();
        if status.is_success() || already_done.contains(&status) {
            Ok(())
        } else {
            Err(refusal(response).await)
        }
    }
}

/// The body of a successful answer.
pub(super) async fn json_of<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ProviderError> {
    response.json().await.map_err(transport)
}

/// No answer, or an unreadable one: worth trying again later. The URL is left out, since its query can carry a
/// sync token or a delta link.
pub(super) fn transport(error: reqwest::Error) -> ProviderError {
    ProviderError::Transient(error.without_url().to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_always_ends_in_a_slash() {
        let http = reqwest::Client::new();
        assert_eq!(
            ProviderApi::new(http.clone(), "http://127.0.0.1:1/v1").base,
            "http://127.0.0.1:1/v1/"
        );
        assert_eq!(
            ProviderApi::new(http, "http://127.0.0.1:1/v1/").base,
            "http://127.0.0.1:1/v1/"
        );
    }
}
