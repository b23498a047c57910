//! A component built against a different WIT world than `weft:plugin`: the host must refuse to
//! load it with a message that says so.

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, reason = "generated canonical-ABI glue")]
mod guest {
    wit_bindgen::generate!({
        inline: "
            package other:thing@1.0.0;
            world runner {
                export describe: func() -> string;
                export run: func(input: string) -> string;
            }
        ",
    });

    struct Other;

    impl Guest for Other {
        fn describe() -> String {
            "not a weft plugin".into()
        }

        fn run(input: String) -> String {
            input
        }
    }

    export!(Other);
}
