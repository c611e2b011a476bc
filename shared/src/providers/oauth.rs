//! The OAuth 2.0 authorization code flow with PKCE, the same for Google and Microsoft apart from settings: the
//! authorization URL, the code exchange, refresh and revocation, through the oauth2 crate over our HTTP client.

use jiff::{SignedDuration, Timestamp};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use crate::ports::{OAuthError, OAuthFlow, TokenGrant};

/// How to talk OAuth to one provider. URLs are configurable so tests and demos can use the emulators.
#[derive(Clone, Debug)]
pub struct OAuthSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: String,
    pub token_url: String,
    /// Where tokens are revoked on disconnect; Microsoft offers no per-application revocation.
    pub revoke_url: Option<String>,
    pub scopes: Vec<String>,
    /// Provider-specific authorization parameters (Google: `access_type=offline`, `prompt=consent`).
    pub extra_authorize_params: Vec<(String, String)>,
}

/// When the provider does not say how long an access token lives, assume the common hour.
const DEFAULT_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

pub struct OAuthClient {
    settings: OAuthSettings,
    http: reqwest::Client,
}

impl OAuthClient {
    pub fn new(settings: OAuthSettings, http: reqwest::Client) -> Self {
        Self { settings, http }
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    fn token_client(
        &self,
    ) -> Result<
        BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        OAuthError,
    > {
        Ok(
            BasicClient::new(ClientId::new(self.settings.client_id.clone()))
                .set_client_secret(ClientSecret::new(
                    self.settings.client_secret.expose_secret().to_owned(),
                ))
                // Both providers document client credentials in the form body.
                .set_auth_type(AuthType::RequestBody)
                .set_token_uri(parse(TokenUrl::new(self.settings.token_url.clone()))?),
        )
    }
}

#[async_trait::async_trait]
impl OAuthFlow for OAuthClient {
    fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
    ) -> Result<(String, SecretString), OAuthError> {
        let client = BasicClient::new(ClientId::new(self.settings.client_id.clone()))
            .set_auth_uri(parse(AuthUrl::new(self.settings.authorize_url.clone()))?)
            .set_redirect_uri(parse(RedirectUrl::new(redirect_uri.to_owned()))?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge)
            .add_scopes(self.settings.scopes.iter().cloned().map(Scope::new));
        for (name, value) in &self.settings.extra_authorize_params {
            request = request.add_extra_param(name.clone(), value.clone());
        }
        let (url, _) = request.url();
        Ok((url.to_string(), SecretString::from(verifier.into_secret())))
    }

    async fn exchange_code(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &SecretString,
        now: Timestamp,
    ) -> Result<TokenGrant, OAuthError> {
        let client = self
            .token_client()?
            .set_redirect_uri(parse(RedirectUrl::new(redirect_uri.to_owned()))?);
        let http = OAuthHttp(self.http.clone());
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(
                pkce_verifier.expose_secret().to_owned(),
            ))
            .request_async(&http)
            .await
            .map_err(token_error)?;
        Ok(grant(&response, now))
    }

    async fn refresh(
        &self,
        refresh_token: &SecretString,
        now: Timestamp,
    ) -> Result<TokenGrant, OAuthError> {
        let client = self.token_client()?;
        let http = OAuthHttp(self.http.clone());
        let refresh_token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let response = client
            .exchange_refresh_token(&refresh_token)
            .request_async(&http)
            .await
            .map_err(token_error)?;
        Ok(grant(&response, now))
    }

    /// Revokes the grant where the provider allows it; `Ok` where it does not. An RFC 7009 request of our own: the
    /// oauth2 crate refuses revocation URLs that are not HTTPS, which the emulators in tests are not.
    async fn revoke(&self, refresh_token: &SecretString) -> Result<(), OAuthError> {
        let Some(revoke_url) = &self.settings.revoke_url else {
            return Ok(());
        };
        let response = self
            .http
            .post(revoke_url)
            .form(&[
                ("token", refresh_token.expose_secret()),
                ("token_type_hint", "refresh_token"),
            ])
            .send()
            .await
            .map_err(|error| OAuthError::Transient(error.without_url().to_string()))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status if status.is_server_error() => Err(OAuthError::Transient(format!(
                "the revocation endpoint answered {status}"
            ))),
            // Already revoked or expired: the goal is reached.
            reqwest::StatusCode::BAD_REQUEST => Ok(()),
            status => Err(OAuthError::Rejected(format!(
                "the revocation endpoint answered {status}"
            ))),
        }
    }
}

fn parse<T>(url: Result<T, oauth2::url::ParseError>) -> Result<T, OAuthError> {
    url.map_err(|error| OAuthError::Rejected(format!("invalid OAuth URL: {error}")))
}

fn grant(response: &oauth2::basic::BasicTokenResponse, now: Timestamp) -> TokenGrant {
    let lifetime = response
        .expires_in()
        .and_then(|lifetime| SignedDuration::try_from(lifetime).ok())
        .unwrap_or(DEFAULT_LIFETIME);
    TokenGrant {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|token| SecretString::from(token.secret().clone())),
        expires_at: now.saturating_add(lifetime).unwrap_or(now),
    }
}

fn token_error(
    error: RequestTokenError<reqwest::Error, oauth2::basic::BasicErrorResponse>,
) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let description = response
                .error_description()
                .cloned()
                .unwrap_or_else(|| response.error().to_string());
            match response.error() {
                BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant(description),
                other => OAuthError::Rejected(format!("{other}: {description}")),
            }
        }
        RequestTokenError::Request(error) => OAuthError::Transient(error.without_url().to_string()),
        // A token endpoint answering something unparsable is most often an outage page.
        RequestTokenError::Parse(error, _) => OAuthError::Transient(error.to_string()),
        RequestTokenError::Other(message) => OAuthError::Transient(message),
    }
}

/// The oauth2 crate's HTTP requests, sent with our client (and its timeout). A named type rather than a closure,
/// so the request futures are `Send` for every lifetime, as axum handlers need.
struct OAuthHttp(reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(&self.0, request))
    }
}

async fn send(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let mut answer = http::Response::new(body);
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}
