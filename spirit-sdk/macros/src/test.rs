//! `#[spirit_sdk::test]`: a sandbox test, exported only when `cargo spirit
//! test` builds the crate.
//!
//! `cargo spirit test` runs cargo with `SPIRIT_SDK_TEST=1`; the attribute
//! reads it when it expands. Then a test function stays and gains an export
//! whose name carries the test's path and options as JSON,
//! `__spirit_test:{"path":"<module_path!()>","name":"<fn>",…}`, which the
//! host lists and calls; without it, the function (or module) is dropped.
//! Either way the expansion reads the variable with `option_env!`, so rustc
//! records it in the crate's dep-info and cargo rebuilds the crate when it
//! changes: a test build never passes for a normal one.
//!
//! The names here are `spirit_sdk::sandbox_test::{TEST_ENV, EXPORT_PREFIX}`
//! (this crate cannot depend on the SDK); the end-to-end tests of `cargo
//! spirit test` fail when they differ.

use proc_macro::{Delimiter, Span, TokenStream, TokenTree};

/// The variable `cargo spirit test` sets for cargo.
const TEST_ENV: &str = "SPIRIT_SDK_TEST";
/// Every test export's name starts with this.
const EXPORT_PREFIX: &str = "__spirit_test:";

type Failure = (Span, String);

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream, Failure> {
    if let Some(first) = attr.into_iter().next() {
        return Err((
            first.span(),
            "#[spirit_sdk::test] takes no arguments: use `#[ignore]` or `#[should_panic]` on the function"
                .to_owned(),
        ));
    }
    let testing = std::env::var_os(TEST_ENV).is_some_and(|v| v == "1");
    let track = parse(&format!(
        "const _: ::core::option::Option<&str> = ::core::option_env!({TEST_ENV:?});"
    ))?;
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let (attrs, rest) = split_attributes(&tokens);
    let is_mod = rest
        .iter()
        .find(|t| !is_visibility(t))
        .is_some_and(|t| matches!(t, TokenTree::Ident(i) if i.to_string() == "mod"));
    if !testing {
        return Ok(track);
    }
    let mut out = TokenStream::new();
    if is_mod {
        out.extend(tokens);
        out.extend(track);
        return Ok(out);
    }
    let name = function_name(rest)?;
    let mut options = String::new();
    for attr in &attrs {
        if let Some(option) = test_option(attr)? {
            options.push_str(&option);
        } else {
            out.extend(attr.iter().cloned());
        }
    }
    out.extend(rest.iter().cloned());
    let export = format!(
        "concat!({:?}, module_path!(), {:?})",
        format!("{EXPORT_PREFIX}{{\"path\":\""),
        format!("\",\"name\":\"{name}\"{options}}}"),
    );
    out.extend(parse(&format!(
        "#[doc(hidden)]\n\
         #[unsafe(export_name = {export})]\n\
         pub extern \"C\" fn __spirit_test_{name}() -> i32 {{\n\
             ::spirit_sdk::entry::__run({name})\n\
         }}"
    ))?);
    out.extend(track);
    Ok(out)
}

fn parse(code: &str) -> Result<TokenStream, Failure> {
    code.parse::<TokenStream>()
        .map_err(|e| (Span::call_site(), e.to_string()))
}

/// The outer attributes (`#` and its bracketed group) and what follows.
fn split_attributes(tokens: &[TokenTree]) -> (Vec<&[TokenTree]>, &[TokenTree]) {
    let mut attrs = Vec::new();
    let mut rest = tokens;
    while let [TokenTree::Punct(hash), TokenTree::Group(group), tail @ ..] = rest
        && hash.as_char() == '#'
        && group.delimiter() == Delimiter::Bracket
    {
        attrs.push(&rest[..2]);
        rest = tail;
    }
    (attrs, rest)
}

fn is_visibility(token: &TokenTree) -> bool {
    match token {
        TokenTree::Ident(i) => i.to_string() == "pub",
        // `pub(crate)`
        TokenTree::Group(g) => g.delimiter() == Delimiter::Parenthesis,
        _ => false,
    }
}

/// The identifier after `fn`, checking that the function takes nothing.
fn function_name(tokens: &[TokenTree]) -> Result<String, Failure> {
    let mut tokens = tokens.iter();
    while let Some(token) = tokens.next() {
        if matches!(token, TokenTree::Ident(i) if i.to_string() == "fn") {
            let Some(TokenTree::Ident(name)) = tokens.next() else {
                break;
            };
            if let Some(TokenTree::Group(args)) = tokens.next()
                && args.delimiter() == Delimiter::Parenthesis
                && !args.stream().is_empty()
            {
                return Err((args.span(), "a sandbox test takes no arguments".to_owned()));
            }
            return Ok(name.to_string().trim_start_matches("r#").to_owned());
        }
    }
    Err((
        Span::call_site(),
        "#[spirit_sdk::test] goes on a function (`#[spirit_sdk::test] fn works() { … }`) or a module of tests"
            .to_owned(),
    ))
}

/// `#[ignore]`, `#[ignore = "why"]`, `#[should_panic]`,
/// `#[should_panic = "text"]` and `#[should_panic(expected = "text")]` as
/// the JSON fields they add (`,"ignore":…`); `None` for other attributes.
fn test_option(attr: &[TokenTree]) -> Result<Option<String>, Failure> {
    let Some(TokenTree::Group(group)) = attr.get(1) else {
        return Ok(None);
    };
    let inner: Vec<TokenTree> = group.stream().into_iter().collect();
    let Some(TokenTree::Ident(key)) = inner.first() else {
        return Ok(None);
    };
    let key = key.to_string();
    if key != "ignore" && key != "should_panic" {
        return Ok(None);
    }
    let value = match &inner[1..] {
        [] => None,
        [TokenTree::Punct(eq), TokenTree::Literal(lit)] if eq.as_char() == '=' => {
            Some(string_value(lit)?)
        }
        [TokenTree::Group(args)] if key == "should_panic" => {
            let args: Vec<TokenTree> = args.stream().into_iter().collect();
            match args.as_slice() {
                [
                    TokenTree::Ident(name),
                    TokenTree::Punct(eq),
                    TokenTree::Literal(lit),
                ] if name.to_string() == "expected" && eq.as_char() == '=' => {
                    Some(string_value(lit)?)
                }
                _ => {
                    return Err((
                        group.span(),
                        "expected `#[should_panic]` or `#[should_panic(expected = \"text\")]`"
                            .to_owned(),
                    ));
                }
            }
        }
        _ => {
            return Err((
                group.span(),
                format!("expected `#[{key}]` or `#[{key} = \"text\"]`"),
            ));
        }
    };
    Ok(Some(match value {
        Some(text) => format!(",\"{key}\":\"{}\"", json_escape(&text)),
        None => format!(",\"{key}\":true"),
    }))
}

/// The text of a string literal: `"…"` with Rust's escapes, or `r#"…"#`.
fn string_value(lit: &proc_macro::Literal) -> Result<String, Failure> {
    let text = lit.to_string();
    let bad = || (lit.span(), "expected a string literal".to_owned());
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        return raw
            .get(hashes + 1..raw.len() - hashes - 1)
            .map(str::to_owned)
            .ok_or_else(bad);
    }
    let body = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().ok_or_else(bad)? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| bad())?;
                out.push(char::from(byte));
            }
            'u' => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                out.push(char::from_u32(code).ok_or_else(bad)?);
            }
            // A line continuation: the newline and the next line's indent go.
            '\n' => while chars.next_if(|c| c.is_whitespace()).is_some() {},
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// `text` as the inside of a JSON string.
fn json_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}
