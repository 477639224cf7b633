use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = backroom::cli::Cli::parse();
    match backroom::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backroom: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
