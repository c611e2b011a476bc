//! moto's SES as the tests use it: the deployment's sender verified, and the messages the sync worker sent read back.

use booking_aws::emulators::sdk_config;

/// `MAIL_FROM` of every deployment; its address is verified in moto's SES, as an operator verifies it in the console.
pub const MAIL_FROM: &str = "Bookings <no-reply@bookings.example.test>";

/// Verifies [`MAIL_FROM`]'s address in moto, which sends only from verified identities. moto is shared by every
/// test, so another deployment may have verified it already.
pub async fn verify_sender(moto_endpoint: &str) {
    let ses = aws_sdk_sesv2::Client::new(&sdk_config(moto_endpoint).await);
    if let Err(error) = ses
        .create_email_identity()
        .email_identity("no-reply@bookings.example.test")
        .send()
        .await
    {
        assert!(
            error
                .as_service_error()
                .is_some_and(|error| error.is_already_exists_exception()),
            "{error:?}"
        );
    }
}

/// Every raw message moto's SES was given so far (all tests' messages: filter by recipient).
pub async fn ses_messages(moto_endpoint: &str) -> Vec<String> {
    let dump: serde_json::Value = reqwest::get(format!("{moto_endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    dump["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|message| message["raw_data"].as_str().map(str::to_owned))
        .collect()
}
