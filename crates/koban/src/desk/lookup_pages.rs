//! The signed-out lookup pages: the reference number, then the code, then
//! the request itself (through a grant kept in a cookie).

use crate::state::App;
use axum::Router;
use std::sync::Arc;

/// Routes of the lookup pages.
pub fn router() -> Router<Arc<App>> {
    Router::new()
}
