//! The messages the product sends, each in plain text and HTML with the same words: the subject says what the
//! message is and for which business, and every link is absolute, on the public base URL the operator configured.

use maud::{Markup, html};

use crate::ports::{Email, SignInEmail};

/// Where the dashboard is reachable from a mail client: `PUBLIC_BASE_URL`, without a trailing slash.
#[derive(Clone, Debug)]
pub struct Links {
    public_base_url: String,
}

impl Links {
    pub fn new(public_base_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The dashboard page at `path` (which starts with `/dashboard`).
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.public_base_url)
    }

    /// The page that acts on a single-use link's token.
    pub fn with_token(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.public_base_url)
    }
}

/// One message: a greeting line, paragraphs, one button-like link, and a closing note, in both forms.
fn message(
    to: &SignInEmail,
    subject: String,
    paragraphs: &[&str],
    action: (&str, &str),
    note: &str,
) -> Email {
    let (label, url) = action;
    let mut text = String::new();
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    text.push_str(&format!("{label}:\n{url}\n\n{note}\n"));
    let html: Markup = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: sans-serif; line-height: 1.5; max-width: 36rem" {
                @for paragraph in paragraphs { p { (paragraph) } }
                p { a href=(url) style="font-weight: bold" { (label) } }
                p style="color: #555" { "If the button does not work, copy this address into your browser: " (url) }
                p style="color: #555" { (note) }
            }
        }
    };
    Email {
        to: to.clone(),
        subject,
        text,
        html: html.into_string(),
    }
}

pub fn verify_email(to: &SignInEmail, business_name: &str, url: &str, valid_hours: i64) -> Email {
    message(
        to,
        format!("Confirm your email for {business_name}"),
        &[
            &format!("Welcome! You signed up {business_name} for bookings."),
            "Confirm that this address is yours, then sign in with the password you chose.",
        ],
        ("Confirm my email", url),
        &format!(
            "The link works once, for {valid_hours} hours. If you did not sign up, ignore this message: nothing happens without the link."
        ),
    )
}

/// Sent instead of a confirmation when someone signs up with an address that has an account: the page looked the
/// same, so only the address's owner learns it.
pub fn already_have_an_account(to: &SignInEmail, sign_in_url: &str, forgot_url: &str) -> Email {
    message(
        to,
        "You already have an account for bookings".to_owned(),
        &[
            "Someone, probably you, tried to sign up a business with this email address, which already has an account. No new business was created.",
            &format!(
                "Sign in at {sign_in_url}. If you forgot your password, choose a new one from the link below."
            ),
        ],
        ("Choose a new password", forgot_url),
        "If this was not you, ignore this message: your account is unchanged.",
    )
}

pub fn reset_password(
    to: &SignInEmail,
    business_name: &str,
    url: &str,
    valid_minutes: i64,
) -> Email {
    message(
        to,
        format!("Choose a new password for {business_name}"),
        &[
            &format!("Someone asked for a new password for your {business_name} bookings account."),
            "Choosing one signs you out everywhere else.",
        ],
        ("Choose a new password", url),
        &format!(
            "The link works once, for {valid_minutes} minutes. If you did not ask, ignore this message: your password is unchanged."
        ),
    )
}

/// Sent to the address an account asked to move to; the account moves only when the link is followed, so an address
/// typed by mistake changes nothing.
pub fn confirm_new_email(
    to: &SignInEmail,
    business_name: &str,
    url: &str,
    valid_hours: i64,
) -> Email {
    message(
        to,
        format!("Confirm your new email for {business_name}"),
        &[
            &format!(
                "Someone, probably you, asked to sign in to {business_name}'s bookings with this address from now on."
            ),
            "Confirm that this address is yours. After that you sign in with it, with the same password, and every device signed in before is signed out.",
        ],
        ("Confirm my new email", url),
        &format!(
            "The link works once, for {valid_hours} hours. If you did not ask, ignore this message: nothing changes without the link."
        ),
    )
}

/// Sent by the operator's `create-business --send`: the business exists, its owner chooses a password to sign in.
pub fn owner_welcome(to: &SignInEmail, business_name: &str, url: &str, valid_hours: i64) -> Email {
    message(
        to,
        format!("{business_name} is ready for bookings: choose your password"),
        &[
            &format!("{business_name} now has its bookings dashboard, and you are its owner."),
            "Choose a password to sign in. From the dashboard you set opening hours and services, connect your calendar and create the key for your voice agent.",
        ],
        ("Choose my password", url),
        &format!(
            "The link works once, for {valid_hours} hours. If it expires, ask whoever runs the service for a new one."
        ),
    )
}

pub fn invitation(to: &SignInEmail, business_name: &str, url: &str, valid_hours: i64) -> Email {
    message(
        to,
        format!("You are invited to {business_name}'s bookings"),
        &[&format!(
            "{business_name} invited you to work with its appointments. Choose a password to sign in."
        )],
        ("Choose my password", url),
        &format!("The link works once, for {valid_hours} hours."),
    )
}

/// Sent by the owner to a staff member: connecting an account needs its holder's own consent at the provider, so
/// the member follows the link and signs in there themselves; they need no dashboard account.
pub fn connect_calendar(
    to: &SignInEmail,
    business_name: &str,
    member_name: &str,
    url: &str,
    valid_days: i64,
) -> Email {
    message(
        to,
        format!("Connect your calendar for {business_name}"),
        &[
            &format!(
                "{business_name} asks you, {member_name}, to connect your Google or Outlook calendar to its bookings."
            ),
            "Once it is connected, times you are busy in your calendar are not offered to callers, and your appointments can be written to it. You sign in at Google or Microsoft yourself; the business never sees your password.",
        ],
        ("Connect my calendar", url),
        &format!(
            "The link works for {valid_days} days, until a calendar has been connected with it. If you were not expecting it, ignore this message: nothing happens without the link."
        ),
    )
}

/// Sent to an owner when the calendar connection must be authorized again: nothing reaches the calendar, and its
/// busy times are not seen, until someone does.
pub fn calendar_needs_reconnecting(
    to: &SignInEmail,
    business_name: &str,
    calendar: &str,
    reason: &str,
    url: &str,
) -> Email {
    message(
        to,
        format!("{business_name}: connect your {calendar} again"),
        &[
            &format!("{business_name}'s bookings can no longer reach your {calendar}. {reason}"),
            "Until it is connected again, new appointments are not written to it and the times you are busy in it are not seen, so the voice agent may offer times you cannot take.",
        ],
        ("Connect the calendar again", url),
        ALERT_NOTE,
    )
}

/// Sent to an owner when an appointment could not be written to the calendar and will not be retried by itself.
pub fn appointment_not_synced(
    to: &SignInEmail,
    business_name: &str,
    appointment: &str,
    reason: &str,
    url: &str,
) -> Email {
    message(
        to,
        format!("{business_name}: an appointment is not in your calendar"),
        &[
            &format!(
                "The appointment {appointment} could not be written to your calendar. {reason}"
            ),
            "Open the appointment to see what happened and to try again.",
        ],
        ("Open the appointment", url),
        ALERT_NOTE,
    )
}

/// Why an owner gets an alert, and how to stop them.
const ALERT_NOTE: &str = "You get at most one email a day about your calendar. To stop these emails, turn off owner alerts in Settings.";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_business_name_is_escaped_in_html_and_links_are_absolute() {
        let to = SignInEmail::try_from("ana@clinic.test".to_owned()).unwrap();
        let links = Links::new("https://bookings.example.com/");
        let url = links.with_token("/dashboard/verify-email", "abc");
        assert_eq!(
            url,
            "https://bookings.example.com/dashboard/verify-email?token=abc"
        );
        let email = verify_email(&to, "Tom & <Jerry>", &url, 24);
        assert_eq!(email.subject, "Confirm your email for Tom & <Jerry>");
        assert!(
            email.html.contains("Tom &amp; &lt;Jerry&gt;"),
            "{}",
            email.html
        );
        assert!(email.text.contains(&url) && email.html.contains(&url));
    }

    #[test]
    fn a_connect_link_names_the_member_and_the_business() {
        let to = SignInEmail::try_from("tom@mail.test".to_owned()).unwrap();
        let url = "https://bookings.example.com/dashboard/connect-calendar?token=abc";
        let email = connect_calendar(&to, "Studio Nine", "Tom", url, 7);
        assert_eq!(email.subject, "Connect your calendar for Studio Nine");
        assert!(
            email.text.contains("Studio Nine asks you, Tom,"),
            "{}",
            email.text
        );
        assert!(email.text.contains(url) && email.html.contains(url));
        assert!(email.text.contains("7 days"), "{}", email.text);
    }
}
