//! `#[boucle::main]` and `#[boucle::test]` (placeholder, being written).
use proc_macro::TokenStream;

/// Runs an `async fn main` on a boucle loop.
#[proc_macro_attribute]
pub fn main(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Runs an `async fn` test on a boucle loop.
#[proc_macro_attribute]
pub fn test(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
