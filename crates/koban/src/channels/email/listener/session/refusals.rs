//! What a command `smtp-proto` cannot read is answered, with its enhanced code.

use super::Session;
use smtp_proto::Error as Syntax;

impl Session<'_> {
    pub(super) fn syntax_error(&mut self, error: Syntax) {
        match error {
            Syntax::UnknownCommand => self.refuse(500, [5, 5, 1], "Unknown command"),
            Syntax::InvalidSenderAddress => self.refuse(501, [5, 1, 7], "Bad sender address"),
            Syntax::InvalidRecipientAddress => self.refuse(501, [5, 1, 3], "Bad recipient address"),
            Syntax::SyntaxError { syntax } => {
                let answer = format!("Syntax: {syntax}");
                self.refuse(501, [5, 5, 4], &answer)
            }
            Syntax::InvalidParameter { param } => {
                let answer = format!("Invalid parameter {param}");
                self.refuse(501, [5, 5, 4], &answer)
            }
            Syntax::UnsupportedParameter { .. } => {
                self.refuse(555, [5, 5, 4], "Unsupported parameter")
            }
            Syntax::ResponseTooLong => self.refuse(500, [5, 5, 2], "Line too long"),
            Syntax::NeedsMoreData { .. } | Syntax::InvalidResponse { .. } => {
                self.refuse(500, [5, 5, 2], "Syntax error")
            }
        }
    }
}
