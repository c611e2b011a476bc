//! The dashboard through a real server: HTTP tests of sign-in, sessions, CSRF and tenant isolation, and browser
//! tests that walk an owner's journey in headless Chromium over WebDriver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod http;
mod integrations;
mod onboarding;
mod onboarding_browser;
mod security;
mod staff;
mod support;
mod third_provider;
mod webdriver;
