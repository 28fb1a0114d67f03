//! What each command does. Secrets go to stdout only where the command exists to show them once.

use crate::cli::*;
use anyhow::{anyhow, Context};
use latchkey_core::{
    AccountId, EnvCategory, Minter, Plan, ProjectId, Secret, TokenFormat, TokenId, TokenKind,
};
use latchkey_server::{AppState, ServerConfig, Verifier};
use latchkey_store::{
    Actor, Bootstrapped, NewServiceToken, NewServiceTokenParts, State, Store, StoreOptions,
};
use latchkey_wire as wire;
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

/// Prints `value` as one line of JSON.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let format = TokenFormat::new(&cli.service_token_prefix, &cli.personal_token_prefix)?;
    if matches!(cli.command, Command::Migrate) {
        let applied = Store::migrate(&cli.db)
            .await
            .context("cannot migrate the database")?;
        crate::logs::say(
            cli.log_format,
            "INFO",
            &format!("{applied} migration(s) applied; the database is up to date"),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let options = StoreOptions {
        max_connections: cli.db_max_connections,
        acquire_timeout: Duration::from_secs(cli.db_acquire_timeout_secs),
        idle_timeout: Duration::from_secs(cli.db_idle_timeout_secs),
        migrate: !cli.skip_migrations,
        ..StoreOptions::default()
    };
    let store = Store::open_with(&cli.db, &options)
        .await
        .context("cannot open the database")?;
    match cli.command {
        Command::Serve(args) => {
            let shown = Shown {
                database: latchkey_store::redact_url(&cli.db),
                config: cli.config.as_deref().map(|p| p.display().to_string()),
            };
            serve(store, format, args, cli.legacy_cutoff, shown).await
        }
        Command::Init(args) => init(store, format, args).await,
        Command::Migrate => Ok(ExitCode::SUCCESS),
        Command::Project(ProjectCommand::Create {
            account,
            name,
            json,
        }) => {
            let project = store
                .create_project(&Actor::operator(), AccountId(account), &name)
                .await?;
            if json {
                print_json(&wire::project(&project))?;
            } else {
                println!(
                    "created project {} ({}) in account {}",
                    project.id, project.name, project.account_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(cmd) => token(store, format, cmd, cli.legacy_cutoff).await,
        Command::Check(args) => check(store, format, args).await,
    }
}

/// Bootstraps an account; with `only_if_empty`, only on a database with no account yet (`None`
/// when another node got there first).
async fn bootstrap(
    store: &Store,
    format: &TokenFormat,
    account: &str,
    plan: Plan,
    email: &str,
    only_if_empty: bool,
) -> anyhow::Result<Option<(Bootstrapped, Secret, Secret)>> {
    let password = latchkey_core::token::random_base62(24);
    let token = format.generate(TokenKind::Service);
    let parts = NewServiceTokenParts {
        uid: &token.uid,
        digest: token.digest,
        hint: &token.hint,
    };
    let actor = Actor::operator();
    let made = if only_if_empty {
        store
            .bootstrap_if_empty(&actor, account, plan, email, &password, parts)
            .await?
    } else {
        Some(
            store
                .bootstrap(&actor, account, plan, email, &password, parts)
                .await?,
        )
    };
    Ok(made.map(|made| (made, password, token.secret)))
}

/// What the start's log line says of settings that are not `serve`'s own.
struct Shown {
    /// The database URL without its password.
    database: String,
    /// The settings file, if one was read.
    config: Option<String>,
}

async fn serve(
    store: Store,
    format: TokenFormat,
    args: ServeArgs,
    legacy_cutoff: time::OffsetDateTime,
    shown: Shown,
) -> anyhow::Result<ExitCode> {
    let first_start = if store.is_empty().await? {
        bootstrap(
            &store,
            &format,
            "Demo",
            Plan::Enterprise,
            &args.admin_email,
            true,
        )
        .await?
    } else {
        None
    };
    if let Some((made, password, token)) = first_start {
        println!(
            "First start: created account {} \"Demo\" (enterprise plan) with project {}.",
            made.account.id, made.project.id
        );
        println!("Admin user:   {} (id {})", made.admin.email, made.admin.id);
        println!("Admin password, shown once: {}", password.expose());
        println!("Account Admin service token, shown once:");
        println!("{}", token.expose());
    }
    let route_map = match &args.route_map {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read route map {}", path.display()))?;
            Some(
                latchkey_server::route_map::RouteMap::from_json(&text)
                    .map_err(anyhow::Error::msg)?,
            )
        }
        None => None,
    };
    let config = ServerConfig {
        token_format: format,
        change_poll: Duration::from_millis(args.change_poll_ms.max(10)),
        usage_flush: Duration::from_secs(args.usage_flush_secs),
        usage_granularity: Duration::from_secs(args.usage_granularity_secs),
        legacy_cutoff,
        trusted_proxies: args.trusted_proxies.clone(),
        account_requests_per_minute: args.account_requests_per_minute,
        token_requests_per_minute: args.token_requests_per_minute,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        decision_listener: args.decision_listen.is_some(),
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        route_map,
        invite_delivery: args.invite_delivery.clone(),
        forward_auth_headers: args.forward_auth_headers,
        console_idle_timeout: Duration::from_secs(args.console_idle_secs),
        console_absolute_timeout: Duration::from_secs(args.console_absolute_hours * 3600),
        console_secure_cookie: args.console_secure_cookie,
        ..ServerConfig::default()
    };
    if let Some(proxy) = args.forward_auth_headers {
        tracing::info!(
            proxy = proxy.as_str(),
            "forward auth reads this proxy's headers"
        );
    } else {
        tracing::info!(
            "forward auth is off (501) until --forward-auth-headers nginx|traefik|envoy is given"
        );
    }
    // Connections are capped below the open-file limit; lift that limit as far as allowed first.
    match latchkey_server::raise_open_file_limit() {
        Ok(Some(files)) => tracing::info!(open_files = files, "open-file limit"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let operator = match args.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for metrics"))?,
        ),
        None => None,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        database = %shown.database,
        config = shown.config.as_deref().unwrap_or("none"),
        change_poll_ms = args.change_poll_ms,
        max_connections = args.max_connections,
        "latchkey serving"
    );
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot handle SIGTERM")?;
    #[cfg(not(unix))]
    let term = ();
    let state = AppState::new(store, config);
    // One signal stops every listener at once: none takes a new connection, and each lets its
    // requests in flight finish.
    let (stop, stopped) = tokio::sync::watch::channel(());
    let decisions = match args.decision_listen {
        Some(addr) => Some(decision_listener(addr, state.clone(), stopped.clone()).await?),
        None => None,
    };
    let operator = operator.map(|listener| {
        if let Ok(address) = listener.local_addr() {
            tracing::info!(%address, "latchkey serving metrics");
        }
        tokio::spawn(latchkey_server::serve_operator(
            listener,
            state.clone(),
            until_stopped(stopped.clone()),
        ))
    });
    tokio::spawn(async move {
        shutdown_signal(term).await;
        drop(stop);
    });
    latchkey_server::serve(listener, state.clone(), until_stopped(stopped)).await?;
    if let Some(thread) = decisions {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    if let Some(task) = operator {
        let _ = task.await;
    }
    // `serve` wrote the usage it had seen once its own requests were done; the decision
    // listener's last requests may have come after.
    if let Err(e) = state.verifier.flush_usage().await {
        tracing::warn!(error = %e, "could not flush last_used_at at shutdown");
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Resolves when `stopped`'s sender is dropped.
async fn until_stopped(mut stopped: tokio::sync::watch::Receiver<()>) {
    while stopped.changed().await.is_ok() {}
}

/// Serves the decision listener on a runtime of its own (as many workers as cores), in a thread
/// that ends when `stopped`'s sender is dropped; returns once that runtime has started. (The
/// runtime is built, and dropped, in its own thread: never inside this one's async context.)
async fn decision_listener(
    addr: std::net::SocketAddr,
    state: AppState,
    stopped: tokio::sync::watch::Receiver<()>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    tracing::info!(address = %listener.local_addr()?, "latchkey serving decisions");
    let (started, start) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("latchkey-decide".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .thread_name("latchkey-decide")
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => {
                    let _ = started.send(Ok(()));
                    runtime
                }
                Err(e) => {
                    let _ = started.send(Err(e));
                    return;
                }
            };
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        latchkey_server::serve_beside(listener, state, until_stopped(stopped))
                            .await;
                    }
                    Err(e) => tracing::error!(error = %e, "cannot serve decisions"),
                }
            });
        })?;
    match start.await {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => Err(e).context("cannot start the decision runtime"),
        Err(_) => anyhow::bail!("the decision runtime's thread ended at start"),
    }
}

/// Resolves on Ctrl-C, or on SIGTERM (`term`, installed before serving so that a failure to
/// install it stops the start instead of a running server).
#[cfg(unix)]
async fn shutdown_signal(mut term: tokio::signal::unix::Signal) {
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
    tracing::info!("shutting down");
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
async fn shutdown_signal((): ()) {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
}

async fn init(store: Store, format: TokenFormat, args: InitArgs) -> anyhow::Result<ExitCode> {
    let (made, password, token) = bootstrap(
        &store,
        &format,
        &args.account,
        args.plan,
        &args.admin_email,
        false,
    )
    .await?
    .context("the account was not created")?;
    if args.json {
        println!(
            "{}",
            json!({
                "account_id": made.account.id.0,
                "project_id": made.project.id.0,
                "admin_user_id": made.admin.id.0,
                "admin_password": password.expose(),
                "token": token.expose(),
                "token_id": made.token.id.0,
            })
        );
    } else {
        println!(
            "Created account {} \"{}\" ({} plan) with project {}.",
            made.account.id, made.account.name, made.account.plan, made.project.id
        );
        println!("Admin user:   {} (id {})", made.admin.email, made.admin.id);
        println!("Admin password, shown once: {}", password.expose());
        let sets: Vec<_> = made
            .token
            .grants
            .iter()
            .map(|g| g.grant.to_string())
            .collect();
        println!(
            "Service token {} ({}), shown once:",
            made.token.id,
            sets.join(", ")
        );
        println!("{}", token.expose());
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(
    store: Store,
    format: TokenFormat,
    cmd: TokenCommand,
    cutoff: time::OffsetDateTime,
) -> anyhow::Result<ExitCode> {
    match cmd {
        TokenCommand::Create {
            account,
            name,
            grants,
            expires_at,
            json,
        } => {
            let new = format.generate(TokenKind::Service);
            let created = store
                .create_service_token(
                    &Actor::operator(),
                    Minter::Operator,
                    &NewServiceToken {
                        account_id: AccountId(account),
                        name: &name,
                        grants: &grants,
                        expires_at,
                        allowed_cidrs: &[],
                        uid: &new.uid,
                        digest: new.digest,
                        hint: &new.hint,
                    },
                )
                .await?;
            if json {
                print_json(&wire::service_token(&created, Some(&new.secret), cutoff))?;
            } else {
                println!("{}", new.secret.expose());
            }
        }
        TokenCommand::List {
            account,
            active,
            json,
        } => {
            let state = active.then_some(State::Active);
            let tokens = store.list_service_tokens(AccountId(account), state).await?;
            if json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| wire::service_token(t, None, cutoff))
                    .collect();
                print_json(&list)?;
            } else {
                for t in &tokens {
                    print_token_line(t);
                }
            }
        }
        TokenCommand::Show { id, json } => {
            let t = store
                .service_token(TokenId(id))
                .await?
                .ok_or_else(|| anyhow!("service token {id} not found"))?;
            if json {
                print_json(&wire::service_token(&t, None, cutoff))?;
            } else {
                print_token_line(&t);
            }
        }
        TokenCommand::Revoke { id, json } => {
            let t = store
                .revoke_service_token(
                    &Actor::operator(),
                    latchkey_core::Authority::Operator,
                    None,
                    TokenId(id),
                )
                .await?;
            if json {
                print_json(&wire::service_token(&t, None, cutoff))?;
            } else {
                println!("revoked service token {} ({})", t.id, t.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_token_line(t: &latchkey_store::ServiceToken) {
    let state = if t.state == State::Active {
        "active"
    } else {
        "deleted"
    };
    let grants: Vec<_> = t.grants.iter().map(|g| g.grant.to_string()).collect();
    println!(
        "{}\t{}\t{}\t{}\t{}",
        t.id,
        t.hint,
        state,
        t.name,
        grants.join(" ")
    );
}

async fn check(store: Store, format: TokenFormat, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let secret = if let Ok(t) = std::env::var("LATCHKEY_TOKEN") {
        Secret::new(t)
    } else {
        let mut buf = String::new();
        std::io::stdin()
            .read_to_string(&mut buf)
            .context("cannot read the token from stdin")?;
        Secret::new(buf.trim().to_owned())
    };
    let env = args
        .environment
        .as_deref()
        .map(str::parse::<EnvCategory>)
        .transpose()?;
    if args.project.is_some_and(|p| p <= 0) {
        return Err(anyhow!("--project must be a positive integer"));
    }
    let verifier = Verifier::new(
        store,
        ServerConfig {
            token_format: format,
            ..ServerConfig::default()
        },
    );
    let principal = match verifier.authenticate(secret.expose()).await {
        Ok(p) => p,
        Err(latchkey_server::AuthError::Unauthenticated) => {
            println!(
                "{}",
                json!({"allowed": false, "reason": {"code": "unauthenticated", "message": "invalid token"}})
            );
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let decision = verifier
        .decide(
            &principal,
            args.permission,
            args.project.map(ProjectId),
            env,
        )
        .await?;
    // One-shot process: write the usage note now rather than in a batch that never comes.
    verifier.flush_usage().await?;
    let reason = match decision {
        latchkey_core::Decision::Allow => serde_json::Value::Null,
        latchkey_core::Decision::Deny(r) => json!({"code": r.code(), "message": r.to_string()}),
    };
    println!(
        "{}",
        json!({
            "allowed": decision.is_allowed(),
            "permission": args.permission.to_string(),
            "project_id": args.project,
            "reason": reason,
            "principal": principal.view(),
        })
    );
    Ok(if decision.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
