//! `#[spirit_sdk::main]`: exports a function as a spirit's entry point;
//! `#[spirit_sdk::test]`: marks a sandbox test (see `test.rs`).
//!
//! Use them through `spirit_sdk::main` and `spirit_sdk::test`; see that
//! crate's documentation.
#![deny(missing_docs)]

mod test;

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Exports the function as the spirit's entry point.
///
/// The function takes no arguments and returns `()`, an `i32` status, or a
/// `Result<(), E>` where `E: Display`. The export is named `run` unless the
/// attribute says otherwise: `#[spirit_sdk::main(export = "start")]`.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err((span, message)) => {
            let mut out = compile_error(span, &message);
            out.extend(item);
            out
        }
    }
}

/// Marks a sandbox test: a function `cargo spirit test` runs in the real
/// sandbox, compiled for wasm32. In any other build it compiles to nothing.
///
/// The function takes no arguments and returns `()`, an `i32` status or a
/// `Result<(), E>` where `E: Display`. `#[ignore]` (or `#[ignore = "why"]`)
/// and `#[should_panic]` (or `#[should_panic(expected = "text")]`) work as
/// in libtest. On a `mod`, the attribute keeps the module (its imports and
/// helpers included) out of every build but `cargo spirit test`, as
/// `#[cfg(test)]` does for native tests.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match test::expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err((span, message)) => {
            let mut out = compile_error(span, &message);
            out.extend(item);
            out
        }
    }
}

fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream, (Span, String)> {
    let export = export_name(attr)?;
    let name = function_name(&item)?;
    let wrapper = format!(
        "#[cfg(target_arch = \"wasm32\")]\n\
         #[doc(hidden)]\n\
         #[unsafe(export_name = {export:?})]\n\
         pub extern \"C\" fn __spirit_entry_{name}() -> i32 {{\n\
             ::spirit_sdk::entry::__run({name})\n\
         }}\n\
         // Elsewhere (native `cargo build`, `cargo test`) nothing exports the\n\
         // entry: this keeps the function from being reported as dead code.\n\
         #[cfg(not(target_arch = \"wasm32\"))]\n\
         const _: fn() -> i32 = || ::spirit_sdk::entry::__run({name});"
    );
    let mut out = item;
    out.extend(
        wrapper
            .parse::<TokenStream>()
            .map_err(|e| (Span::call_site(), e.to_string()))?,
    );
    Ok(out)
}

/// `export = "name"`, or the default `run`.
fn export_name(attr: TokenStream) -> Result<String, (Span, String)> {
    let tokens: Vec<TokenTree> = attr.into_iter().collect();
    match tokens.as_slice() {
        [] => Ok("run".to_owned()),
        [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Literal(lit)]
            if key.to_string() == "export" && eq.as_char() == '=' =>
        {
            let text = lit.to_string();
            let name = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|n| !n.is_empty() && !n.contains(['\\', '"']))
                .ok_or((lit.span(), "expected a string such as `export = \"run\"`".to_owned()))?;
            Ok(name.to_owned())
        }
        [first, ..] => Err((
            first.span(),
            "expected nothing or `export = \"name\"`, as in `#[spirit_sdk::main(export = \"run\")]`"
                .to_owned(),
        )),
    }
}

/// The identifier after `fn`, checking the function takes no arguments.
fn function_name(item: &TokenStream) -> Result<String, (Span, String)> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        if matches!(&token, TokenTree::Ident(i) if i.to_string() == "fn") {
            let Some(TokenTree::Ident(name)) = tokens.next() else {
                break;
            };
            if let Some(TokenTree::Group(args)) = tokens.next()
                && args.delimiter() == Delimiter::Parenthesis
                && !args.stream().is_empty()
            {
                return Err((
                    args.span(),
                    "a spirit's entry takes no arguments: read input with `spirit_sdk::input`"
                        .to_owned(),
                ));
            }
            return Ok(name.to_string());
        }
    }
    Err((
        Span::call_site(),
        "#[spirit_sdk::main] goes on a function: `#[spirit_sdk::main] fn run() { … }`".to_owned(),
    ))
}

fn compile_error(span: Span, message: &str) -> TokenStream {
    let mut path = TokenStream::new();
    for segment in ["core", "compile_error"] {
        path.extend([
            TokenTree::Punct(Punct::new(':', Spacing::Joint)),
            TokenTree::Punct(Punct::new(':', Spacing::Alone)),
            TokenTree::Ident(Ident::new(segment, span)),
        ]);
    }
    let mut lit = Literal::string(message);
    lit.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut args = Group::new(Delimiter::Brace, TokenTree::Literal(lit).into());
    args.set_span(span);
    path.extend([TokenTree::Punct(bang), TokenTree::Group(args)]);
    path
}
