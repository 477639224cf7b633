use clap::Parser;

/// mimalloc (without transparent huge pages) rather than glibc's malloc: each password
/// hash takes 19 MiB (argon2), and glibc kept that memory after raising its mmap threshold,
/// so 32 sign-ups at once left the server at 390 MiB resident. With mimalloc the same burst
/// peaks at 86 MiB and falls back to about 35 MiB; idle stays near 22 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = backroom::cli::Cli::parse();
    match backroom::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backroom: {error:#}");
            if error.downcast_ref::<backroom::cli::UnreadableFile>().is_some() {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
