//! The support desk's clocks and labels: reference numbers, ticket states,
//! the business-hours calendar and the SLA clocks. One test binary with a
//! module each, so it links once.

mod calendar;
mod reference;
mod sla;
mod status;
