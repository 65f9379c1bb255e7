//! Search's pure decisions: how text becomes tokens in every script Koban's
//! people write, how a query is read and limited, who may find what, and
//! how a node follows the change log without skipping a late commit.

pub mod follow;
pub mod query;
pub mod scope;
pub mod tokens;
pub mod variants;
