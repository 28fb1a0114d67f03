//! The Admin API budget (`/api/v2`, `/api/v3`): every caller — a token, or a user signed in with
//! a password — has its own per-minute budget, which every call it makes spends; over all of them
//! the account has a ceiling (dbt Cloud's 5,000 a minute), which only the calls the guard lets
//! through spend. A token asking again and again for what it may not have (403), or for another
//! account (404), so spends its own budget and nobody else's.

use crate::config::ServerConfig;
use crate::limiter::{LimitKey, Limiter};
use latchkey_core::{AccountId, TokenId, TokenKind, UserId};

/// Who spends a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spender {
    /// A service token or a personal access token.
    Token(TokenKind, TokenId),
    /// A user signed in with e-mail and password.
    User(UserId),
}

impl LimitKey for Spender {
    fn shard_byte(&self) -> u8 {
        match self {
            Spender::Token(_, id) => id.0 as u8,
            Spender::User(id) => id.0 as u8,
        }
    }
}

/// A budget of `limit` calls a minute, or none for 0.
fn per_minute<K: LimitKey>(limit: u32) -> Option<Limiter<K>> {
    (limit > 0).then(|| Limiter::new(limit, 60))
}

/// The budgets of one node.
pub struct AdminBudget {
    per_caller: Option<Limiter<Spender>>,
    per_account: Option<Limiter<AccountId>>,
}

impl AdminBudget {
    /// The budgets `config` sets (a limit of 0 turns that budget off).
    pub fn new(config: &ServerConfig) -> AdminBudget {
        AdminBudget {
            per_caller: per_minute(config.token_requests_per_minute),
            per_account: per_minute(config.account_requests_per_minute),
        }
    }

    /// Spends one call of the caller's own budget, whatever the guard then decides;
    /// `Err(seconds until allowed)` past it.
    pub fn spend_caller(&self, caller: Spender, now: i64) -> Result<(), u64> {
        match &self.per_caller {
            Some(limiter) => limiter.hit(caller, now),
            None => Ok(()),
        }
    }

    /// Spends one call of the account's ceiling, for a call the guard let through;
    /// `Err(seconds until allowed)` past it.
    pub fn spend_account(&self, account: AccountId, now: i64) -> Result<(), u64> {
        match &self.per_account {
            Some(limiter) => limiter.hit(account, now),
            None => Ok(()),
        }
    }
}
