//! The caller's number, the one path every tool takes to it: a number the model typed is checked strictly and its
//! refusal names the argument; the number the platform reports is read leniently, because nobody typed it and a
//! booking must not fail on it.

use crate::agent::call::{CallerId, ToolFailure};
use crate::app::{self, AppError};
use crate::domain::{CallerNumber, Customer, CustomerName, PhoneNumber};

use super::Call;
use super::input::invalid;
use super::wording::{Callback, failure};

/// A number the model typed (the caller said it): checked strictly, the refusal naming the argument.
async fn typed_phone(
    call: &Call<'_>,
    field: &'static str,
    text: &str,
) -> Result<PhoneNumber, ToolFailure> {
    app::normalize_customer_phone(call.app, call.business, field, text)
        .await
        .map_err(|error| match error {
            AppError::Validation(error) => invalid(format!(
                "{field}: {}; check the number with the caller (international form, e.g. +14155550123, is always \
                 understood)",
                error.message
            )),
            other => failure(other),
        })
}

/// The number the platform reports for the caller, read leniently; `Missing` when it reported none.
pub(crate) async fn reported_phone(
    call: &Call<'_>,
    reported: Option<&str>,
) -> Result<CallerNumber, ToolFailure> {
    match reported {
        Some(text) => app::read_platform_caller(call.app, call.business, text)
            .await
            .map_err(failure),
        None => Ok(CallerNumber::Missing),
    }
}

fn no_caller_number(field: &str) -> ToolFailure {
    invalid(format!(
        "{field}: no caller number came with this call; ask the caller for their phone number"
    ))
}

/// The number to look a caller up by: the model's, or the one the platform reports when the model left it out.
pub(crate) async fn caller_phone(
    call: &Call<'_>,
    field: &'static str,
    given: Option<String>,
) -> Result<PhoneNumber, ToolFailure> {
    if let Some(given) = given {
        return typed_phone(call, field, &given).await;
    }
    let CallerId::Reported(reported) = &call.context.caller else {
        return Err(no_caller_number(field));
    };
    match reported_phone(call, reported.as_deref()).await? {
        CallerNumber::Known(number) | CallerNumber::Unverified(number) => Ok(number),
        CallerNumber::Missing => Err(no_caller_number(field)),
    }
}

/// The customer to book: the name, and the number the model gave (strict) or, when it gave none, the one the
/// platform reports (lenient: a withheld or unknown caller id books without a confirmed number, and says so).
pub(crate) async fn customer(
    call: &Call<'_>,
    name: String,
    phone: Option<String>,
) -> Result<(Customer, Option<Callback>), ToolFailure> {
    let name = CustomerName::try_from(name).map_err(|_| {
        invalid("customer_name: ask the caller for their name (1 to 200 characters)")
    })?;
    let (phone, callback) = match (phone, &call.context.caller) {
        (Some(typed), _) => (
            Some(typed_phone(call, "customer_phone", &typed).await?),
            None,
        ),
        (None, CallerId::NotAPhoneCall) => return Err(no_caller_number("customer_phone")),
        (None, CallerId::Reported(reported)) => {
            let reported = reported_phone(call, reported.as_deref()).await?;
            let callback = Callback::of(&reported);
            let phone = match reported {
                CallerNumber::Known(number) | CallerNumber::Unverified(number) => Some(number),
                CallerNumber::Missing => None,
            };
            (phone, callback)
        }
    };
    let customer = Customer {
        name,
        phone,
        email: None,
    };
    Ok((customer, callback))
}
