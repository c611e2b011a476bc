//! The OAuth 2.0 core both identity providers share: authorization codes bound to a redirect URI and a PKCE
//! challenge, access and refresh tokens, client authentication. What differs is a setting (`TokenStyle`: the tokens'
//! look, whether a refresh rotates the refresh token) or stays in the provider's own handlers (validation order and
//! error bodies).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How a provider's tokens look and live.
pub struct TokenStyle {
    pub access_prefix: &'static str,
    pub refresh_prefix: &'static str,
    pub code_prefix: &'static str,
    pub refresh: Refresh,
    /// What the tokens of an account connected by the test (`issue_tokens`) grant.
    pub connected_scope: &'static str,
}

/// What a refresh-token grant does to the refresh token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// It stays valid and none comes back (Google).
    Kept,
    /// It is used up and a new one comes back (the Microsoft identity platform).
    Rotated,
}

/// An authorization code waiting to be redeemed.
pub struct CodeGrant {
    /// As the provider compares it at redemption.
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
}

/// What a refresh-token grant answers.
pub struct Refreshed {
    pub access: String,
    /// The new refresh token when they rotate.
    pub refresh: Option<String>,
    pub scope: String,
}

/// The codes and tokens an identity provider has issued.
pub struct Grants {
    style: TokenStyle,
    issued: Mutex<Issued>,
}

#[derive(Default)]
struct Issued {
    codes: HashMap<String, CodeGrant>,
    access: HashSet<String>,
    /// Refresh token → the scope it grants.
    refresh: HashMap<String, String>,
    /// Refresh-token grants answered with new tokens.
    refreshes: usize,
}

impl Issued {
    fn issue(&mut self, style: &TokenStyle, scope: &str) -> (String, String) {
        let access = format!("{}{}", style.access_prefix, random_token());
        let refresh = format!("{}{}", style.refresh_prefix, random_token());
        self.access.insert(access.clone());
        self.refresh.insert(refresh.clone(), scope.to_owned());
        (access, refresh)
    }
}

impl Grants {
    pub fn new(style: TokenStyle) -> Self {
        Self {
            style,
            issued: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Issued> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new `(access, refresh)` pair for `scope`.
    pub fn issue(&self, scope: &str) -> (String, String) {
        self.lock().issue(&self.style, scope)
    }

    /// A new pair as if the account had just been connected.
    pub fn issue_connected(&self) -> (String, String) {
        self.issue(self.style.connected_scope)
    }

    /// A new authorization code for `grant`.
    pub fn grant_code(&self, grant: CodeGrant) -> String {
        let code = format!("{}{}", self.style.code_prefix, random_token());
        self.lock().codes.insert(code.clone(), grant);
        code
    }

    /// The grant of a code, which is used up whether or not the rest of the request holds.
    pub fn redeem(&self, code: &str) -> Option<CodeGrant> {
        self.lock().codes.remove(code)
    }

    /// A refresh-token grant; `None` for a token not (or no longer) valid.
    pub fn refresh(&self, token: &str) -> Option<Refreshed> {
        let mut issued = self.lock();
        let scope = match self.style.refresh {
            Refresh::Kept => issued.refresh.get(token).cloned()?,
            Refresh::Rotated => issued.refresh.remove(token)?,
        };
        issued.refreshes += 1;
        let refreshed = match self.style.refresh {
            Refresh::Kept => {
                let access = format!("{}{}", self.style.access_prefix, random_token());
                issued.access.insert(access.clone());
                Refreshed {
                    access,
                    refresh: None,
                    scope,
                }
            }
            Refresh::Rotated => {
                let (access, refresh) = issued.issue(&self.style, &scope);
                Refreshed {
                    access,
                    refresh: Some(refresh),
                    scope,
                }
            }
        };
        Some(refreshed)
    }

    pub fn refresh_count(&self) -> usize {
        self.lock().refreshes
    }

    /// Whether an API request with this access token is let in.
    pub fn accepts(&self, access: &str) -> bool {
        self.lock().access.contains(access)
    }

    /// Revokes the grant one of its tokens belongs to, which ends all of it; `false` for an unknown token.
    pub fn revoke(&self, token: &str) -> bool {
        let mut issued = self.lock();
        let known = issued.refresh.remove(token).is_some() | issued.access.remove(token);
        if known {
            issued.refresh.clear();
            issued.access.clear();
        }
        known
    }

    /// The user removes our access: refresh tokens stop working (access tokens still work until they expire).
    pub fn revoke_refresh_tokens(&self) {
        self.lock().refresh.clear();
    }

    pub fn expire_access_tokens(&self) {
        self.lock().access.clear();
    }
}

/// The parameters of an OAuth request, from its query or its form.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Parameters(HashMap<String, String>);

impl Parameters {
    /// A parameter as sent, empty or not.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter; an empty one counts as not given.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

impl FromIterator<(String, String)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }
}

/// Whether `verifier` is the one `challenge` was made from (`S256`).
pub fn pkce_verified(verifier: Option<&str>, challenge: &str) -> bool {
    verifier.is_some_and(|verifier| {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
    })
}

/// How a provider reads the user-id and password of HTTP Basic client authentication.
#[derive(Clone, Copy)]
pub enum BasicCredentials {
    /// As they are.
    Plain,
    /// Each form-encoded, as RFC 6749 §2.3.1 writes them.
    FormEncoded,
}

/// Our app as the provider has it registered.
pub struct Client {
    pub id: &'static str,
    pub secret: &'static str,
    /// How the provider reads HTTP Basic credentials.
    pub basic: BasicCredentials,
}

impl Client {
    /// Whether a token request authenticates as this client.
    pub fn authenticated(&self, headers: &HeaderMap, form: &Parameters) -> bool {
        client_authenticated(headers, form, (self.id, self.secret), self.basic)
    }
}

/// The client secret, by HTTP Basic (`client_id:client_secret`) or in the form.
fn client_authenticated(
    headers: &HeaderMap,
    form: &Parameters,
    (client_id, client_secret): (&str, &str),
    encoding: BasicCredentials,
) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    if let Some(basic) = basic {
        let decode = |text: &str| match encoding {
            BasicCredentials::Plain => Some(text.to_owned()),
            BasicCredentials::FormEncoded => reqwest::Url::parse(&format!("http://x/?v={text}"))
                .ok()
                .and_then(|url| url.query_pairs().next().map(|(_, v)| v.into_owned())),
        };
        let (id, secret) = basic.split_once(':').unwrap_or((&basic, ""));
        return decode(id).as_deref() == Some(client_id)
            && decode(secret).as_deref() == Some(client_secret);
    }
    form.get("client_id") == Some(client_id) && form.get("client_secret") == Some(client_secret)
}

/// 32 random bytes, URL-safe: codes, tokens, and the providers' opaque paging and sync tokens.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(
        [
            uuid::Uuid::new_v4().as_bytes().as_slice(),
            uuid::Uuid::new_v4().as_bytes(),
        ]
        .concat(),
    )
}
