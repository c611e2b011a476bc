//! What every `Store` must do with the dashboard's records ([`crate::ports::SignInStore`],
//! [`crate::ports::ApiKeyStore`]). Each function gets a fresh, empty store.

use super::{at, base};

use crate::domain::{ApiKey, Business, BusinessId, BusinessName, BusinessTimeZone};
use crate::ports::{Account, SignInEmail, StaffRole, Store};

mod api_keys;
mod sign_ins;

pub use api_keys::*;
pub use sign_ins::*;

async fn new_business(store: &dyn Store) -> (Business, ApiKey) {
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Accounts Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: base(),
        disabled_at: None,
    };
    let key = ApiKey::generate();
    store.create_business(&business, &key.hash()).await.unwrap();
    (business, key)
}

fn email(text: &str) -> SignInEmail {
    SignInEmail::try_from(text.to_owned()).unwrap()
}

fn member(business: &Business, address: &str, role: StaffRole) -> Account {
    Account {
        email: email(address),
        business_id: business.id,
        role,
        password_hash: None,
        invited_at: base(),
        password_set_at: None,
    }
}
