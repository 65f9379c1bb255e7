//! The tantivy side of `koban_policy::search::tokens`: the same tokens at
//! indexing (with CJK unigrams) and for snippets, registered under
//! [`NAME`] for the text fields.

use koban_policy::search::tokens::{tokenize, Mode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name text fields name their tokenizer by.
pub const NAME: &str = "koban";

#[derive(Clone, Default)]
pub struct Koban;

pub struct Stream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl Tokenizer for Koban {
    type TokenStream<'a> = Stream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Stream {
        let tokens: Vec<Token> = tokenize(text, Mode::Index)
            .into_iter()
            .map(|t| Token {
                offset_from: t.from,
                offset_to: t.to,
                position: t.position,
                text: t.text,
                position_length: 1,
            })
            .collect();
        Stream {
            tokens: tokens.into_iter(),
            current: Token::default(),
        }
    }
}

impl TokenStream for Stream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(token) => {
                self.current = token;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}
