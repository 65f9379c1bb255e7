//! SQL for the security center, one file per concern. Services decide;
//! these functions run the statements they ask for, on the pool, lane or
//! transaction the service chose.

pub mod devices;
pub mod facts;
pub mod guards;
pub mod history;
pub mod passkeys;
pub mod recovery;
pub mod reminders;
pub mod signin;
pub mod totp;
