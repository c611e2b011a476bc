//! moto's SES as the tests use it: the deployment's sender verified, and the messages the sync worker sent read back.

use booking_aws::emulators::moto;

/// `MAIL_FROM` of every deployment; its address is verified in moto's SES, as an operator verifies it in the console.
pub const MAIL_FROM: &str = "Bookings <no-reply@bookings.example.test>";

/// Verifies [`MAIL_FROM`]'s address in moto, as an operator verifies it in the console.
pub async fn verify_sender(moto_endpoint: &str) {
    moto::verify_ses_sender(moto_endpoint, "no-reply@bookings.example.test")
        .await
        .unwrap();
}
