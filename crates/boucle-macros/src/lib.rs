//! `#[boucle::main]` and `#[boucle::test]`: run an `async fn` on a boucle
//! event loop, as `asyncio.run(main())` does.
//!
//! Use them through the `boucle` crate (`#[boucle::main]`,
//! `#[boucle::test]`), which re-exports them; the expansion names
//! `::boucle`, so the crate must be a dependency under that name.
//!
//! Both rewrite
//!
//! ```text
//! #[boucle::main(virtual_time, seed = 42)]
//! async fn main() -> R { BODY }
//! ```
//!
//! into (roughly)
//!
//! ```text
//! fn main() -> R {
//!     let body = async move { BODY };
//!     let rt = ::boucle::Runtime::builder().virtual_time(true).seed(42).build()
//!         .expect("boucle: cannot build the runtime");
//!     let out = rt.block_on(body); // the loop runs here
//!     drop(rt);                    // tasks still alive are cancelled, as asyncio.run does
//!     out
//! }
//! ```
//!
//! `#[boucle::test]` does the same and adds `#[test]`.
//!
//! # Arguments
//!
//! | argument | effect |
//! | --- | --- |
//! | `virtual_time` (or `virtual_time = true/false`) | `Builder::virtual_time(true)`: the clock jumps to the next timer instead of waiting |
//! | `seed = 42` (an integer literal) | `Builder::seed(42)`: `boucle::random` gives the same values on every run |
//! | `trace` (or `trace = true/false`) | `Builder::trace(true)`; when the function returns (or panics) the ASCII timeline of every task is printed on stderr |
//!
//! The attribute rejects, with an error at the offending tokens: a function
//! that is not `async`, a function with parameters or generic parameters,
//! an unknown or repeated argument, a `seed` that is not an integer literal,
//! and (for `test`) a second `#[test]` attribute. Each of these fails to
//! compile:
//!
//! ```compile_fail
//! #[boucle::main] // error: #[boucle::main] needs an `async fn`
//! fn main() {}
//! ```
//!
//! ```compile_fail
//! #[boucle::main(flavor = "current_thread")] // error: unknown argument `flavor`
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[boucle::main(seed = "42")] // error: `seed` must be an unsigned integer literal
//! async fn main() {}
//! ```
//!
//! ```compile_fail
//! #[boucle::main] // error: functions take no parameters
//! async fn main(args: Vec<String>) {}
//! ```

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, LitBool, LitInt, Meta, ReturnType, Token};

/// Runs an `async fn main` on a new boucle loop (`asyncio.run(main())`).
///
/// The function may return a value, such as `Result<(), E>`; it is
/// returned from the generated sync `fn main`. When the body finishes, the
/// runtime is dropped, which cancels the tasks still alive.
///
/// Arguments: `virtual_time`, `seed = N`, `trace` (see the crate docs).
///
/// ```
/// use std::time::Duration;
///
/// #[boucle::main(virtual_time)]
/// async fn main() -> Result<(), String> {
///     println!("Début du programme");
///     boucle::sleep(Duration::from_secs(1)).await; // virtual: instant
///     println!("Fin du programme");
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a new boucle loop, and marks it `#[test]`.
///
/// The test may return `Result<(), E>` as ordinary tests do. Arguments:
/// `virtual_time`, `seed = N`, `trace` (see the crate docs).
///
/// ```
/// #[boucle::test(virtual_time, seed = 42)]
/// async fn dix_secondes() {
///     let start = boucle::now();
///     boucle::sleep(std::time::Duration::from_secs(10)).await;
///     assert_eq!(boucle::now() - start, std::time::Duration::from_secs(10));
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[boucle::main]",
            Kind::Test => "#[boucle::test]",
        }
    }
}

/// The runtime configuration the arguments ask for.
#[derive(Default)]
struct Config {
    virtual_time: Option<(bool, Span)>,
    seed: Option<(LitInt, Span)>,
    trace: Option<(bool, Span)>,
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    // Parse the function first so that an argument error does not also
    // produce "main function not found" noise: on error we still emit the
    // item unchanged next to the error.
    let func = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(func) => func,
        Err(e) => return with_item(e, item),
    };
    let result = parse_args(kind, args).and_then(|config| {
        check_fn(kind, &func)?;
        Ok(generate(kind, func.clone(), &config))
    });
    match result {
        Ok(tokens) => tokens,
        Err(e) => with_item(e, strip_async(func)),
    }
}

/// The compile error followed by the item, so that the rest of the crate
/// still sees the function (fewer follow-up errors).
fn with_item(e: syn::Error, item: impl quote::ToTokens) -> TokenStream2 {
    let err = e.to_compile_error();
    quote! { #err #item }
}

/// The function without `async` (so an erroneous `async fn main` does not
/// add "main cannot be async" to the real error).
fn strip_async(mut func: ItemFn) -> ItemFn {
    func.sig.asyncness = None;
    func
}

fn parse_args(kind: Kind, args: TokenStream2) -> syn::Result<Config> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut config = Config::default();
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = meta.span();
        match name.as_str() {
            "virtual_time" => {
                once(&config.virtual_time, &name, span)?;
                config.virtual_time = Some((flag(&meta)?, span));
            }
            "trace" => {
                once(&config.trace, &name, span)?;
                config.trace = Some((flag(&meta)?, span));
            }
            "seed" => {
                once(&config.seed, &name, span)?;
                config.seed = Some((seed(&meta)?, span));
            }
            _ => {
                let shown = quote::ToTokens::to_token_stream(meta.path()).to_string();
                return Err(syn::Error::new(
                    meta.path().span(),
                    format!(
                        "unknown argument `{shown}` to {}: expected `virtual_time`, \
                         `seed = <integer>` or `trace`",
                        kind.attr()
                    ),
                ));
            }
        }
    }
    Ok(config)
}

fn once<T>(slot: &Option<T>, name: &str, span: Span) -> syn::Result<()> {
    match slot {
        Some(_) => Err(syn::Error::new(
            span,
            format!("argument `{name}` is given more than once"),
        )),
        None => Ok(()),
    }
}

/// `name` alone means true; `name = true` / `name = false` are accepted.
fn flag(meta: &Meta) -> syn::Result<bool> {
    match meta {
        Meta::Path(_) => Ok(true),
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(LitBool { value, .. }),
                ..
            }) => Ok(*value),
            other => Err(syn::Error::new(
                other.span(),
                format!(
                    "`{}` takes no value, or `= true` / `= false`",
                    path_name(meta)
                ),
            )),
        },
        Meta::List(list) => Err(syn::Error::new(
            list.delimiter.span().join(),
            format!(
                "`{}` takes no value, or `= true` / `= false`",
                path_name(meta)
            ),
        )),
    }
}

fn seed(meta: &Meta) -> syn::Result<LitInt> {
    const MSG: &str = "`seed` must be an unsigned integer literal, e.g. `seed = 42`";
    let Meta::NameValue(nv) = meta else {
        return Err(syn::Error::new(meta.span(), MSG));
    };
    match &nv.value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            // Check the value fits a u64 now, with the literal's span,
            // rather than leaving rustc to report it inside the expansion.
            int.base10_parse::<u64>().map_err(|_| {
                syn::Error::new(int.span(), "`seed` must fit in a u64 (0 ..= 2^64 - 1)")
            })?;
            match int.suffix() {
                "" | "u64" => Ok(int.clone()),
                other => Err(syn::Error::new(
                    int.span(),
                    format!("`seed` is a u64: drop the `{other}` suffix"),
                )),
            }
        }
        other => Err(syn::Error::new(other.span(), MSG)),
    }
}

fn path_name(meta: &Meta) -> String {
    quote::ToTokens::to_token_stream(meta.path()).to_string()
}

fn check_fn(kind: Kind, func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            format!(
                "{} needs an `async fn`: add `async` before `fn`",
                kind.attr()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!(
                "{} functions take no parameters: the loop calls `{}()` itself",
                kind.attr(),
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("{} functions cannot be generic", kind.attr()),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            format!("{} functions take no parameters", kind.attr()),
        ));
    }
    if kind == Kind::Test {
        if let Some(attr) = func.attrs.iter().find(|a| is_test_attr(a)) {
            return Err(syn::Error::new(
                attr.span(),
                "#[boucle::test] already adds #[test]: remove this one",
            ));
        }
    }
    Ok(())
}

/// `#[test]`, `#[core::prelude::v1::test]` and the like.
fn is_test_attr(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    path.is_ident("test")
        || (path.segments.last().is_some_and(|s| s.ident == "test")
            && path.segments.iter().any(|s| s.ident == "prelude"))
}

fn generate(kind: Kind, func: ItemFn, config: &Config) -> TokenStream2 {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = func;
    sig.asyncness = None;
    let output = match &sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, ty) => quote! { #ty },
    };

    // Locals of the expansion use mixed-site hygiene: the user's body can
    // never see or shadow them.
    let site = Span::mixed_site();
    let body = syn::Ident::new("__boucle_body", site);
    let rt = syn::Ident::new("__boucle_rt", site);
    let result = syn::Ident::new("__boucle_result", site);

    let mut builder = quote_spanned! {site=> ::boucle::Runtime::builder() };
    if let Some((on, span)) = config.virtual_time {
        builder = quote_spanned! {span=> #builder.virtual_time(#on) };
    }
    if let Some((seed, span)) = &config.seed {
        builder = quote_spanned! {*span=> #builder.seed(#seed) };
    }
    let trace_on = matches!(config.trace, Some((true, _)));
    if let Some((on, span)) = config.trace {
        builder = quote_spanned! {span=> #builder.trace(#on) };
    }
    let print_trace = if trace_on {
        quote_spanned! {site=>
            if let ::core::option::Option::Some(trace) = #rt.trace() {
                ::std::eprintln!("{}", trace.timeline(72));
            }
        }
    } else {
        TokenStream2::new()
    };
    let test_attr = match kind {
        Kind::Test => quote! { #[::core::prelude::v1::test] },
        Kind::Main => TokenStream2::new(),
    };

    // The body becomes an async block. Coercing it to a `dyn Future` with
    // the function's output type pins down the block's output, so `?` and
    // `return` inside the body infer their types as in the original
    // `async fn`.
    quote_spanned! {site=>
        #test_attr
        #(#attrs)*
        #vis #sig {
            let #body = ::core::pin::pin!(async move #block);
            let #body: ::core::pin::Pin<
                &mut dyn ::core::future::Future<Output = #output>
            > = #body;
            let #rt = ::core::result::Result::expect(
                #builder.build(),
                "boucle: cannot build the runtime",
            );
            // Run the body; then drop the loop (cancelling leftover tasks)
            // before the body's panic, if any, resumes.
            let #result = ::std::panic::catch_unwind(
                ::std::panic::AssertUnwindSafe(|| #rt.block_on(#body)),
            );
            #print_trace
            ::core::mem::drop(#rt);
            match #result {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(payload) => ::std::panic::resume_unwind(payload),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{expand, Kind};
    use proc_macro2::TokenStream as TokenStream2;
    use quote::quote;

    fn errors(kind: Kind, args: TokenStream2, item: TokenStream2) -> String {
        expand(kind, args, item).to_string()
    }

    #[test]
    fn accepts_all_arguments() {
        let out = errors(
            Kind::Test,
            quote! { virtual_time, seed = 42, trace },
            quote! { async fn t() {} },
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("virtual_time (true)"), "{out}");
        assert!(out.contains("seed (42)"), "{out}");
        assert!(out.contains("trace (true)"), "{out}");
        assert!(out.contains("core :: prelude :: v1 :: test"), "{out}");
    }

    #[test]
    fn main_has_no_test_attribute() {
        let out = errors(Kind::Main, quote! {}, quote! { async fn main() {} });
        assert!(!out.contains("compile_error"), "{out}");
        assert!(!out.contains(":: test"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
    }

    #[test]
    fn rejects_sync_fn() {
        let out = errors(Kind::Main, quote! {}, quote! { fn main() {} });
        assert!(out.contains("needs an `async fn`"), "{out}");
    }

    #[test]
    fn rejects_unknown_argument() {
        let out = errors(Kind::Test, quote! { flavor }, quote! { async fn t() {} });
        assert!(out.contains("unknown argument `flavor`"), "{out}");
    }

    #[test]
    fn rejects_bad_seed() {
        for args in [
            quote! { seed = "42" },
            quote! { seed = x },
            quote! { seed },
            quote! { seed = -1 },
            quote! { seed = 1.5 },
            quote! { seed = 42i32 },
            quote! { seed = 99999999999999999999999 },
        ] {
            let out = errors(Kind::Test, args.clone(), quote! { async fn t() {} });
            assert!(out.contains("compile_error"), "{args}: {out}");
            assert!(out.contains("seed"), "{args}: {out}");
        }
    }

    #[test]
    fn rejects_parameters_and_generics() {
        let out = errors(Kind::Test, quote! {}, quote! { async fn t(x: u32) {} });
        assert!(out.contains("take no parameters"), "{out}");
        let out = errors(Kind::Test, quote! {}, quote! { async fn t<T>() {} });
        assert!(out.contains("cannot be generic"), "{out}");
    }

    #[test]
    fn rejects_repeated_argument_and_second_test_attr() {
        let out = errors(
            Kind::Test,
            quote! { seed = 1, seed = 2 },
            quote! { async fn t() {} },
        );
        assert!(out.contains("more than once"), "{out}");
        let out = errors(Kind::Test, quote! {}, quote! { #[test] async fn t() {} });
        assert!(out.contains("already adds #[test]"), "{out}");
    }
}
