pub mod availability;
pub mod domain;
pub mod ports;
